"""`frechet report`: one self-contained page with the numbers of `compute`, plots made from the metrics' own
numbers, galleries traced to the items (thumbnails, players), the memorisation check, plugin sections, provenance."""

from __future__ import annotations

import base64
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pytest

import frechet
from frechet.cli import main
from frechet.errors import ConfigError, OutputError
from frechet.plugins import get_registry
from frechet.report import Media, Section
from frechet.report.diagnostics import dimension_gaps, half_sample_spread, infinity_fit
from frechet.report.galleries import Pair, galleries, item_features
from frechet.runner import comparison
from frechet.settings import Settings
from frechet.stats import FeatureStats

pytest.importorskip("matplotlib")
METRICS = ("fd", "fd-ci", "fd-inf", "kid")
FAST = {"fd_ci_bootstrap": 40}


class _Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def elements(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Elements()
    parser.feed(html)
    return parser.tags


@pytest.fixture
def written(tiny, image_sets, tmp_path):
    """A report of the image sets with the tiny convolution, its result, and the page's text."""
    real, fake = image_sets
    out = tmp_path / "out" / "report.html"
    result = frechet.write_report(real, fake, out, embedder="tiny-conv", metric_options=FAST, progress=False,
                                  command="frechet report real fake")
    return result, out.read_text(encoding="utf-8")


def test_the_page_is_self_contained_and_fetches_nothing(written):
    _, html = written
    tags = elements(html)
    assert not [tag for tag, _ in tags if tag in ("script", "link", "iframe", "object", "embed", "base")]
    sources = [attributes.get("src", "") for tag, attributes in tags if tag in ("img", "audio", "source")]
    assert sources and all(source.startswith("data:") for source in sources)
    assert "//" not in re.sub(r"data:[^\"]*", "", html)  # no address of anything outside the page
    for source in sources:
        if source.startswith("data:image/svg+xml;base64,"):
            svg = base64.b64decode(source.split(",", 1)[1]).decode()
            references = re.findall(r'(?:href|src)="([^"]*)"', svg) + re.findall(r"url\(([^)]*)\)", svg)
            assert references and all(reference.startswith("#") for reference in references)
    policy = [attributes["content"] for tag, attributes in tags if attributes.get("http-equiv") ==
              "Content-Security-Policy"]
    assert policy == ["default-src 'none'; img-src data:; media-src data:; style-src 'unsafe-inline'"]


def test_the_page_reports_what_compute_reports(tiny, image_sets, written):
    result, html = written
    real, fake = image_sets
    computed = frechet.compute(real, fake, embedder="tiny-conv", metrics=METRICS, metric_options=FAST,
                               progress=False)
    assert result.as_dict() == computed.as_dict()
    assert f"FD {result['fd']:.6g} [{result['fd_ci_low']:.6g}, {result['fd_ci_high']:.6g}] (95% interval" in html
    assert f"KID {result['kid']:.6g}" in html and f"FD∞ {result['fd_inf']:.6g}" in html
    for heading in ("Metrics", "Plots", "Galleries", "Memorisation check", "Provenance"):
        assert f">{heading}<" in html
    assert "frechet report real fake" in html and "tiny-conv" in html and "fd_ci_bootstrap=40" in html


def test_galleries_show_thumbnails_of_the_items_and_flag_the_copied_one(written):
    _, html = written
    thumbnails = [attributes for tag, attributes in elements(html) if tag == "img" and
                  attributes["src"].startswith("data:image/jpeg")]
    assert len(thumbnails) == 8 + 8 + 2 * 8  # farthest, least covered, and pairs
    assert all(int(attributes["width"]) == 24 for attributes in thumbnails)
    assert re.search(r"\d+ generated items? (is|are) closer to a real item than any two real items", html)
    check = html[html.index(">Memorisation check<"):]
    first = check[check.index("<div class=\"tile\">"):check.index("</div></div>\n")]
    assert "fake/029.png" in first and "real/007.png" in first  # the copy, beside its original
    assert check.index("memorised? </span>distance 0<") < check.index("<div class=\"tile\">", 10 + check.index(
        "<div class=\"tile\">"))


def test_plots_are_made_from_the_metrics_own_subsets_and_half_samples(tiny, image_sets):
    real, fake = image_sets
    settings = Settings(embedder="tiny-conv", metrics=METRICS, metric_options=FAST, progress=False)
    compared = comparison(get_registry(), real, fake, settings, keep_features=True)
    values = compared.result
    sides = {label: compared.sides[label][0] for label in ("real", "fake")}
    options = {"infinity_points": 15, "infinity_start": 0.1, "fd_ci_chunks": 50, "fd_ci_bootstrap": 40,
               "fd_ci_confidence": 0.95}
    fit = infinity_fit(sides["real"].stats_of("features"), sides["fake"].features["features"], options, seed=2020)
    assert fit.intercept == pytest.approx(values["fd_inf"], rel=1e-9)
    spread = half_sample_spread(sides["real"].features["features"], sides["fake"].features["features"],
                                values["fd"], options, seed=2020)
    interval = spread.interval
    assert (interval.low, interval.high, interval.corrected) == (values["fd_ci_low"], values["fd_ci_high"],
                                                                 values["fd_ci_corrected"])
    assert len(spread.values) == 40


def test_dimension_gaps_rank_the_marginals_that_differ_most():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((500, 6))
    fake = real.copy()
    fake[:, 4] += 3.0  # a shifted mean
    fake[:, 1] *= 2.0  # a wider spread
    gaps = dimension_gaps(FeatureStats.from_features(real), FeatureStats.from_features(fake), top=3)
    assert gaps.dims[:2].tolist() == [4, 1]
    assert gaps.mean_gap[0] == pytest.approx(3.0) and gaps.std_fake[1] == pytest.approx(2 * gaps.std_real[1])
    assert gaps.share[:2].sum() == pytest.approx(1.0)


def test_galleries_on_known_points():
    real = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    fake = np.array([[0.5, 0.0], [100.0, 100.0], [10.0, 9.0]])
    found = galleries(real, fake, np.arange(4) + 20, np.arange(3) + 40, size=2)
    assert found.farthest_fake[0] == Pair(41, 23, pytest.approx(np.hypot(90, 90)))
    assert found.least_covered_real[0].item == 22  # (0, 10): 9.05 from the nearest generated point
    assert found.threshold == 10.0 and found.memorised == 2
    assert [pair.item for pair in found.closest] == [40, 42]


def test_an_item_with_several_rows_is_their_mean():
    items, rows = item_features(np.array([[0.0], [2.0], [5.0], [7.0]]), np.array([3, 3, 8, 8]))
    assert items.tolist() == [3, 8] and rows[:, 0].tolist() == [1.0, 6.0]


def test_each_kept_row_names_its_item_past_skipped_items_and_through_the_cache(tiny, image_sets, tmp_path):
    real, fake = image_sets
    (fake / "010.png").write_bytes(b"not an image")
    settings = Settings(embedder="tiny-conv", skip_bad=True, progress=False, cache_dir=tmp_path / "cache")
    for _ in range(2):  # computed, then read from the cache
        side = comparison(get_registry(), real, fake, settings, keep_features=True).sides["fake"][0]
        assert side.items.tolist() == [index for index in range(30) if index != 10]
        assert side.features["features"].shape == (29, 16)


def test_rows_of_items_with_several_examples_keep_their_item_through_the_cache(tiny, sound_sets, tmp_path):
    real, fake = sound_sets
    settings = Settings(embedder="clip-frames", progress=False, cache_dir=tmp_path / "cache")
    sides = [comparison(get_registry(), real, fake, settings, keep_features=True).sides["real"][0] for _ in range(2)]
    for side in sides:
        counts = np.bincount(side.items)
        assert len(counts) == 8 and counts.min() >= 4 and counts.sum() == side.features["frames"].shape[0]
        assert np.all(np.diff(side.items) >= 0)
    assert np.array_equal(sides[0].items, sides[1].items)


def test_an_audio_report_plays_its_items(tiny, sound_sets, tmp_path):
    real, fake = sound_sets
    out = tmp_path / "audio.html"
    frechet.write_report(real, fake, out, embedder="clip-frames", metrics="fd", gallery_size=3, progress=False)
    players = [attributes for tag, attributes in elements(out.read_text()) if tag == "audio"]
    assert len(players) == 3 + 3 + 2 * 3 and all(p["src"].startswith("data:audio/wav;base64,") for p in players)


def test_a_side_given_as_statistics_has_no_galleries_and_the_page_says_why(tiny, image_sets, tmp_path):
    real, fake = image_sets
    stats = tmp_path / "real.npz"
    frechet.compute_stats(real, save=stats, embedder="tiny-conv", progress=False)
    out = tmp_path / "stats.html"
    frechet.write_report(stats, fake, out, embedder="tiny-conv", metrics="fd", progress=False)
    html = out.read_text()
    assert "no galleries: the real side is saved statistics; galleries need its items" in html
    assert ">Galleries<" not in html and ">Plots<" in html


def test_n_not_above_d_and_skipped_items_are_warned_about(tiny, image_sets, tmp_path):
    real, fake = image_sets
    (fake / "003.png").write_bytes(b"broken")
    out = tmp_path / "warn.html"
    frechet.write_report(real, fake, out, embedder="tiny-conv", metrics="fd", skip_bad=True, progress=False)
    html = out.read_text()
    assert "1 unreadable item was skipped:" in html and "003.png" in html
    few = tmp_path / "few"
    few.mkdir()
    for index in range(8):
        (few / f"{index}.png").write_bytes((real / f"{index:03d}.png").read_bytes())
    frechet.write_report(few, fake, out, embedder="tiny-conv", metrics="fd", skip_bad=True, progress=False)
    assert "real: 8 samples for 16 feature dimensions (N ≤ d)" in out.read_text()


def test_plugins_add_sections_and_a_broken_one_is_passed_over(tiny, image_sets, tmp_path, caplog):
    real, fake = image_sets
    tiny.SECTIONS = [Section("Panel statistics", ("Mean panel height: 24 px <b>",), (("k", "v"), ("a", "1"))),
                     Section("Swatches", media=(Media("image/png", b"\x89PNG\r\n\x1a\n", 4, 4),))]
    out = tmp_path / "sections.html"
    frechet.write_report(real, fake, out, embedder="tiny-conv", metrics="fd", progress=False)
    html = out.read_text()
    assert ">Panel statistics<" in html and "24 px &lt;b&gt;" in html and "plugin &#x27;tiny&#x27;" in html
    tiny.FAIL_SECTIONS = True
    frechet.write_report(real, fake, out, embedder="tiny-conv", metrics="fd", progress=False)
    assert "Panel statistics" not in out.read_text()
    assert "plugin 'tiny' failed in frechet_report_sections (RuntimeError: this plugin's section broke)" in caplog.text


def test_compute_writes_a_report_when_asked(tiny, image_sets, tmp_path, capsys):
    real, fake = image_sets
    out = tmp_path / "compute.html"
    assert main(["compute", str(real), str(fake), "--embedder", "tiny-conv", "--report", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("fd ") and out.exists()
    assert f"frechet compute {real} {fake} --embedder tiny-conv --report {out} --quiet" in out.read_text()


def test_report_command_with_sanity_curves(tiny, image_sets, tmp_path, capsys):
    real, fake = image_sets
    out = tmp_path / "sanity.html"
    assert main(["report", str(real), str(fake), "--embedder", "mean-colour", "-o", str(out), "--metrics", "fd",
                 "--sanity", "blur,noise", "--sanity-levels", "3", "--gallery", "2", "--quiet", "--json"]) == 0
    assert f'"report": "{out}"' in capsys.readouterr().out
    html = out.read_text()
    assert ">Sanity curves<" in html and "this backbone is nearly blind to blur" in html
    assert html.index("nearly blind to blur") < html.index(">Metrics<")  # in the warnings at the top too


def test_report_refusals_are_one_line(tiny, image_sets, tmp_path, monkeypatch):
    real, fake = image_sets
    with pytest.raises(ConfigError, match="name it with .html"):
        frechet.write_report(real, fake, tmp_path / "report.pdf", embedder="tiny-conv")
    with pytest.raises(OutputError, match="would be written inside the input folder"):
        frechet.write_report(real, fake, real / "report.html", embedder="tiny-conv")
    with pytest.raises(ConfigError, match="a report shows one embedder"):
        frechet.write_report(real, fake, tmp_path / "r.html", embedder="tiny-conv,mean-colour")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    refusal = r"plots: needs the optional package 'matplotlib'.*pip install -e '\.\[report\]'"
    with pytest.raises(ConfigError, match=refusal):
        frechet.write_report(real, fake, tmp_path / "r.html", embedder="tiny-conv")
