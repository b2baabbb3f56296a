"""One-input runs of metrics of the generated set alone, one embedding per distinct input, and result keys named as
the caller asked for them."""

from __future__ import annotations

import numpy as np
import pytest

import frechet
from frechet.cli import main
from frechet.errors import ConfigError
from frechet.metrics.inception_score import inception_score


def test_the_inception_score_runs_on_the_generated_input_alone(projection, rows_file):
    result = frechet.compute(str(rows_file), embedder="projection", metrics="is", cache=False, progress=False)
    logits = 4 * projection.project(np.load(rows_file))[:, : projection.LOGITS]
    mean, std = inception_score(logits, 10, seed=2020)  # the float64 formula on the oracle's logits
    assert result["is_mean"] == pytest.approx(mean, rel=1e-5)
    assert result["is_std"] == pytest.approx(std, rel=1e-4, abs=1e-6)
    assert result["n_fake"] == 400 and "n_real" not in result
    assert frechet.compute(fake=str(rows_file), embedder="projection", metrics="is", cache=False,
                           progress=False)["is_mean"] == result["is_mean"]


def test_one_input_with_a_metric_that_compares_two_names_it_and_the_fix(projection, rows_file):
    with pytest.raises(ConfigError, match=r"^fd, kid compare the generated input with a reference, and only one "
                       r"input was given; give both \(frechet\.compute\(real, fake\)\)"):
        frechet.compute(str(rows_file), embedder="projection", metrics="is,fd,kid", cache=False, progress=False)


def test_the_command_takes_one_input_for_is(projection, rows_file, capsys):
    assert main(["compute", str(rows_file), "--embedder", "projection", "--metrics", "is", "--no-cache",
                 "--quiet", "--json"]) == 0
    assert '"is_mean"' in capsys.readouterr().out
    assert main(["compute", str(rows_file), "--embedder", "projection", "--metrics", "fd", "--no-cache",
                 "--quiet"]) == 2
    assert "give both (`frechet compute REAL FAKE`)" in capsys.readouterr().err


@pytest.mark.parametrize("second", ["same", "spelt-otherwise", "same-array"])
def test_one_input_on_both_sides_is_embedded_once(projection, rows_file, tmp_path, second):
    rows = np.load(rows_file)
    real = rows if second == "same-array" else str(rows_file)
    fake = {"same": str(rows_file), "spelt-otherwise": f"{tmp_path}/../{tmp_path.name}/rows.npy",
            "same-array": rows}[second]
    before = projection.CALLS
    result = frechet.compute(real, fake, embedder="projection", metrics="fd,is", cache=False, progress=False,
                             batch_size=400)
    assert projection.CALLS - before == 1  # one batch of 400 rows: the input was embedded once
    assert result["fd"] == pytest.approx(0.0, abs=1e-9)
    assert result["n_real"] == result["n_fake"] == 400


def test_two_different_inputs_are_each_embedded(projection, rows_file, tmp_path):
    other = tmp_path / "other.npy"
    np.save(other, np.load(rows_file)[::-1].copy())
    before = projection.CALLS
    frechet.compute(str(rows_file), str(other), embedder="projection", cache=False, progress=False, batch_size=400)
    assert projection.CALLS - before == 2


@pytest.mark.parametrize(("asked", "keys"), [
    ("fid", {"fid": "fd"}), ("fad", {"fad": "fd"}), ("isc", {"isc_mean": "is_mean", "isc_std": "is_std"}),
    ("fid-inf", {"fid_inf": "fd_inf", "fid_inf_r2": "fd_inf_r2"}),
])
def test_a_metric_asked_for_by_an_alias_reports_its_values_under_that_name(projection, rows_file, asked, keys):
    rows = np.load(rows_file)
    result = frechet.compute(rows[:200], rows[200:], embedder="projection", metrics=asked, progress=False)
    for key, own in keys.items():
        assert result[key] == result[own]


def test_features_files_asked_for_fid_report_fid(rows_file, tmp_path):
    other = tmp_path / "other.npy"
    np.save(other, np.load(rows_file)[:300] + 0.5)
    result = frechet.compute(str(rows_file), str(other), metrics="fid", progress=False)
    assert result["fid"] == result["fd"] > 0
