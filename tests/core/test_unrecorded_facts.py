"""What a statistics file does not record (its embedder, its output) is null in JSON and `-` in text and messages,
never an empty string or None."""

import json

import numpy as np
import pytest

from frechet.cli import main
from frechet.errors import IncompatibleStatsError
from frechet.statsfiles import Producer, check_compatible


def _foreign(path, seed):
    """Statistics as pytorch-fid writes them: mu and sigma, nothing about what made them."""
    rows = np.random.default_rng(seed).standard_normal((30, 4))
    np.savez(path, mu=rows.mean(axis=0), sigma=np.cov(rows, rowvar=False))
    return str(path)


def test_distance_of_two_foreign_files_reports_embedder_and_output_as_unknown(tmp_path, capsys):
    a, b = _foreign(tmp_path / "a.npz", 0), _foreign(tmp_path / "b.npz", 1)
    assert main(["distance", a, b, "--json"]) == 0
    values = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert values["embedder"] is None and values["output"] is None
    assert main(["distance", a, b]) == 0
    printed = capsys.readouterr()
    table = dict(line.split(None, 1) for line in printed.out.splitlines())
    assert table["embedder"] == "-" and table["output"] == "-"
    assert "None" not in printed.err and "which records no embedder" in printed.err


@pytest.mark.parametrize("force", [False, True])
def test_an_unrecorded_output_in_a_mismatch_is_a_dash(caplog, force):
    first = Producer("a.npz", "inception(mode=tf)", "pool")
    second = Producer("b.npz", None, None, "dinov2", {})
    if force:
        check_compatible(first, second, force=True)
        text = caplog.text
    else:
        with pytest.raises(IncompatibleStatsError) as raised:
            check_compatible(first, second, force=False)
        text = str(raised.value)
    assert "b.npz was computed with dinov2() (output -)" in text and "None" not in text
