"""Progress of long work: a bar on a terminal, a few log lines without one, nothing when switched off."""

import logging

import pytest

from frechet.progress import Progress, track


def _lines(caplog):
    return [record.getMessage() for record in caplog.records if record.name == "frechet"]


def test_without_a_terminal_progress_is_a_start_line_a_line_per_tenth_and_an_end_line_with_the_rate(caplog):
    with caplog.at_level(logging.INFO, logger="frechet"):
        assert sum(track(range(250), 250, "kid", unit="subset")) == sum(range(250))
    lines = _lines(caplog)
    assert lines[0] == "kid: 250 subsets to do"
    assert [line.split(" (")[0] for line in lines[1:-1]] == [f"kid: {10 * step} %" for step in range(1, 10)]
    assert lines[-1].startswith("kid: 250 subsets in ") and lines[-1].endswith(" subsets/s")


def test_switched_off_progress_says_nothing(caplog, capsys):
    with caplog.at_level(logging.INFO, logger="frechet"):
        list(track(range(50), 50, "mind", show=False))
    assert not _lines(caplog) and not capsys.readouterr().err


def test_a_bar_is_drawn_on_stderr_when_asked(capsys, caplog):
    with caplog.at_level(logging.INFO, logger="frechet"), Progress(20, "fd-ci", unit="half-sample", show=True) as bar:
        bar.update(20)
    assert "fd-ci" in capsys.readouterr().err and not _lines(caplog)


def test_work_that_fails_logs_no_end_line(caplog):
    with caplog.at_level(logging.INFO, logger="frechet"), pytest.raises(RuntimeError):
        with Progress(10, "prdc") as progress:
            progress.update(3)
            raise RuntimeError("stop")
    assert len(_lines(caplog)) == 2  # the start line and 30 %
