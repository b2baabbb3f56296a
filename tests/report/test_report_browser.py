"""The report page in headless Chromium (Debian's `chromium`; `.ci/run` installs it): no console errors, no network
request attempted, every image, plot and player drawn at a non-zero size."""

from __future__ import annotations

import pytest

import frechet
from frechet.report.page import document

from chromium import Chromium, find_chromium

pytest.importorskip("matplotlib")
BINARY = find_chromium()
pytestmark = pytest.mark.skipif(BINARY is None, reason="no Chromium installed (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser():
    with Chromium(BINARY) as chromium:
        yield chromium


def test_image_report_renders_with_no_errors_no_requests_and_every_picture_drawn(browser, tiny, image_sets,
                                                                                   tmp_path):
    real, fake = image_sets
    out = tmp_path / "report.html"
    frechet.write_report(real, fake, out, embedder="mean-colour", metric_options={"fd_ci_bootstrap": 20},
                         sanity="noise,blur", sanity_levels=2, progress=False)
    visit = browser.visit(out)
    assert visit.errors == [] and visit.requests == []
    pictures = [element for element in visit.elements if element["tag"] == "img"]
    assert len(pictures) == 4 + 8 + 8 + 16  # four plots, three galleries
    assert all(element["width"] > 0 and element["height"] > 0 for element in visit.elements)
    assert all(element["complete"] and element["natural"] > 0 for element in pictures)  # decoded, not broken


def test_audio_report_renders_its_players(browser, tiny, sound_sets, tmp_path):
    real, fake = sound_sets
    out = tmp_path / "audio.html"
    frechet.write_report(real, fake, out, embedder="clip-frames", metrics="fd", gallery_size=2, progress=False)
    visit = browser.visit(out)
    players = [element for element in visit.elements if element["tag"] == "audio"]
    assert visit.errors == [] and visit.requests == [] and len(players) == 2 + 2 + 4
    assert all(element["width"] > 0 and element["height"] > 0 for element in visit.elements)


def test_the_check_sees_a_page_that_fetches_or_fails(browser, tmp_path):
    fetching = tmp_path / "fetching.html"
    fetching.write_text('<!DOCTYPE html><img src="http://127.0.0.1:9/x.png"><img src="data:image/png;base64,AA==">')
    visit = browser.visit(fetching)
    assert visit.requests == ["http://127.0.0.1:9/x.png"] and visit.errors
    assert [element["natural"] for element in visit.elements] == [0, 0]
    blocked = tmp_path / "blocked.html"  # the report's own policy refuses the fetch, and says so
    blocked.write_text(document("t", ['<img src="http://127.0.0.1:9/x.png">']))
    assert any("Content Security Policy" in error for error in browser.visit(blocked).errors)
