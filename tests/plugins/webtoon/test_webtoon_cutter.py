"""The panel cutter against strips whose panels are known: generated episodes (gutters of several colours, JPEG
quality 60-95, bordered and scroll-length panels, balloons across gutters, slices splitting panels) and hand-made
strips for each rule; and the bad inputs, one line each."""

from __future__ import annotations

import logging
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from webtoon_helpers import save_slices
from frechet.errors import InputError
from frechet_webtoon.cutter import CutSettings
from frechet_webtoon.episodes import find_episodes, natural_key
from frechet_webtoon.source import cut_episode, open_webtoon, rows

WHITE = (255, 255, 255)


def strip_with(height: int, width: int = 200, background=WHITE) -> np.ndarray:
    return np.full((height, width, 3), background, np.uint8)


def test_generated_episodes_cut_at_their_true_boundaries(episodes):
    root, truth = episodes
    for episode in find_episodes(root):
        expected = [(panel["top"], panel["bottom"]) for panel in truth[episode.name]["panels"]]
        found = cut_episode(episode).cut.panels
        limit = 2 if truth[episode.name]["quality"] >= 85 else 4
        assert len(found) == len(expected), (episode.name, found, expected)  # none lost, none split
        errors = np.abs(np.array(found) - np.array(expected))
        assert errors.max() <= limit, (episode.name, found, expected)


def test_items_are_the_stitched_strips_rows_in_natural_slice_order(tmp_path):
    strip = np.random.default_rng(0).integers(0, 256, (1300, 200, 3), dtype=np.uint8)
    strip[:, :, :] = np.where(np.arange(1300)[:, None, None] % 400 < 40, 255, strip)  # gutters every 400 rows
    save_slices(tmp_path / "ep", strip, [100 * k for k in range(1, 13)])  # 1.png … 13.png: 10 sorts after 9
    [episode] = find_episodes(tmp_path / "ep")
    assert [piece.path.name for piece in episode.slices][8:11] == ["9.png", "10.png", "11.png"]
    assert sorted(["10.jpg", "2.jpg", "1.jpg"], key=natural_key) == ["1.jpg", "2.jpg", "10.jpg"]
    source = open_webtoon(tmp_path / "ep")
    for index, (_, piece) in enumerate(source.items):
        np.testing.assert_array_equal(source.load(index), strip[piece.top:piece.bottom + 1])
    assert [source.item_name(i) for i in range(len(source))] == [f"ep/panel-00{n}" for n in range(1, 5)]


def test_bordered_blank_panel_and_balloon_across_a_gutter_stay_whole(tmp_path):
    strip = strip_with(900)
    strip[100:105, 10:190] = strip[395:400, 10:190] = 0  # a frame around a blank interior: rows 100-399
    strip[100:400, 10:15] = strip[100:400, 185:190] = 0
    strip[500:600, :] = (200, 60, 60)
    strip[700:800, :] = (60, 60, 200)
    strip[580:720, 80:82] = strip[580:720, 120:122] = 0  # a balloon's sides across the gutter 600-699
    Image.fromarray(strip).save(tmp_path / "tall.png")
    cut = cut_episode(find_episodes(tmp_path / "tall.png")[0]).cut
    assert cut.panels == ((100, 399), (500, 799)) and cut.background == WHITE


def test_fragments_are_dropped_and_counted_and_tall_panels_tiled(tmp_path):
    strip = strip_with(2000, width=100, background=(0, 0, 0))
    strip[50:60, 40:60] = 255  # a 10-row speck in a gutter
    strip[100:1100] = (120, 200, 40)  # 1000 rows = 10 widths tall
    strip[1200:1300] = (200, 40, 120)
    Image.fromarray(strip).save(tmp_path / "tall.png")
    settings = CutSettings()
    cut = cut_episode(find_episodes(tmp_path / "tall.png")[0], settings).cut
    assert cut.fragments == ((50, 59),) and cut.panels == ((100, 1099), (1200, 1299))
    tiles = [piece for piece in cut.pieces if piece.panel == 1]
    tile = settings.tile_ratio * 100
    assert tiles[0].top == 100 and tiles[-1].bottom == 1099 and all(t.bottom - t.top + 1 == tile for t in tiles)
    assert all(a.bottom - b.top + 1 >= settings.overlap * tile for a, b in zip(tiles, tiles[1:]))
    assert [p.name for p in cut.pieces][-2:] == [f"panel-001-tile-{len(tiles)}", "panel-002"]


def test_a_strip_without_gutter_is_one_panel_in_tiles(tmp_path):
    strip = np.random.default_rng(1).integers(0, 256, (1000, 120, 3), dtype=np.uint8)
    Image.fromarray(strip).save(tmp_path / "noise.png")
    cut = cut_episode(find_episodes(tmp_path / "noise.png")[0]).cut
    assert cut.background is None and cut.panels == ((0, 999),)
    assert len(cut.pieces) == 6  # tiles of 240 rows, 180 apart at most: ceil((1000 - 240) / 180) + 1


def test_slices_of_other_widths_are_scaled_to_the_first_and_said(tmp_path, caplog):
    first, second = strip_with(300, width=200), strip_with(150, width=100)
    first[100:200], second[50:100] = (200, 0, 0), (0, 0, 200)
    save_slices(tmp_path / "ep", first, [])
    Image.fromarray(second).save(tmp_path / "ep" / "2.png")
    with caplog.at_level(logging.WARNING, logger="frechet"):
        [episode] = find_episodes(tmp_path / "ep")
    assert "2.png: 100 px wide where the episode's first slice is 200 px; scaled to 200 x 300" in caplog.text
    source = open_webtoon(tmp_path / "ep")
    tops = np.array([(piece.top, piece.bottom) for _, piece in source.items])
    assert episode.height == 600 and np.abs(tops - [(100, 199), (400, 499)]).max() <= 1  # ringing of the resize
    assert source.load(1)[50, 100].tolist() == [0, 0, 200]


def test_bad_inputs_are_one_line_each(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no slices")
    with pytest.raises(InputError, match=r"empty: no episode here \(no slice images"):
        open_webtoon(tmp_path / "empty")
    Image.fromarray(strip_with(60_000, width=1)).save(tmp_path / "thread.png")
    with pytest.raises(InputError, match=r"thread.png: 1 px wide; a webtoon strip of under 32 px") as error:
        open_webtoon(tmp_path / "thread.png")
    assert "\n" not in str(error.value)


def test_cutting_streams_slices(tmp_path):
    """Peak memory while cutting stays near one slice's pixels, however many slices the episode has."""
    slice_bytes = 400 * 300 * 3
    strip = np.tile(np.repeat(np.array([[255], [90]], np.uint8), 100, axis=0), (60, 1))  # 12,000 rows
    save_slices(tmp_path / "ep", np.repeat(np.repeat(strip[:, :, None], 300, 1), 3, 2), list(range(400, 12000, 400)))
    [episode] = find_episodes(tmp_path / "ep")
    tracemalloc.start()
    cut = cut_episode(episode).cut
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert len(cut.panels) == 60 and len(episode.slices) == 30
    assert peak < 6 * slice_bytes  # the whole strip would be 30 slices
