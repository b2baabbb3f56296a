"""`frechet sanity`: FD of disturbed copies rises with the damage for a backbone that sees it, a deliberately blind
backbone is called out, re-runs read the feature cache, and the command prints a table, JSON and a plot."""

from __future__ import annotations

import json

import numpy as np
import pytest

import frechet
from frechet.cli import main
from frechet.report.sanity import MONOTONE_RHO, NEGLIGIBLE


@pytest.fixture
def real(image_sets):
    return image_sets[0]


def test_fd_rises_monotonically_with_noise_on_a_tiny_deterministic_model(tiny, real):
    result = frechet.sanity(real, embedder="tiny-conv", disturbances="noise", levels=5, progress=False)
    curve = result.curves[0]
    fds = [level.fd for level in curve.levels]
    assert all(later > earlier for earlier, later in zip([0.0, *fds], fds))
    assert curve.rho == pytest.approx(1.0) and not curve.blind
    assert [level.strength for level in curve.levels] == pytest.approx([12.8, 25.6, 38.4, 51.2, 64.0])
    assert curve.levels[-1].fd_relative == pytest.approx(fds[-1] / result.trace)
    assert curve.levels[-1].kid > curve.levels[0].kid  # KID rises too (computed: the input is small)


def test_a_backbone_that_averages_the_image_to_one_colour_is_flagged_blind_to_blur_and_swirl(tiny, real):
    result = frechet.sanity(real, embedder="mean-colour", disturbances=["blur", "swirl", "rectangles"],
                            progress=False)
    verdict = {curve.name: curve for curve in result.curves}
    assert verdict["blur"].blind and verdict["swirl"].blind and not verdict["rectangles"].blind
    for name in ("blur", "swirl"):
        curve = verdict[name]
        assert curve.levels[-1].fd_relative < NEGLIGIBLE or not curve.rho >= MONOTONE_RHO
        assert curve.message.startswith(f"this backbone is nearly blind to {name}: ρ = ")
        assert "of tr Σ at the strongest level" in curve.message
    assert [curve.name for curve in result.blind] == ["blur", "swirl"]


def test_mixing_in_another_input_raises_fd_with_the_fraction_mixed_in(tiny, image_sets):
    real, fake = image_sets
    result = frechet.sanity(real, embedder="tiny-conv", disturbances=f"mix:{fake}", levels=2, progress=False)
    levels = result.curves[0].levels
    assert [level.strength for level in levels] == [0.25, 0.5]
    assert 0 < levels[0].fd < levels[1].fd


def test_a_second_run_reads_every_level_from_the_feature_cache(tiny, real, tmp_path):
    settings = dict(embedder="tiny-conv", disturbances="noise,salt-pepper", levels=3, cache_dir=tmp_path / "cache",
                    progress=False)
    first = frechet.sanity(real, **settings)
    tiny.CALLS = 0
    second = frechet.sanity(real, **settings)
    assert tiny.CALLS == 0
    assert second.as_dict() == first.as_dict()
    frechet.sanity(real, **{**settings, "seed": 7})  # another seed is another damage
    assert tiny.CALLS > 0


def test_sanity_command_prints_a_table_and_verdicts(tiny, real, capsys):
    assert main(["sanity", str(real), "--embedder", "mean-colour", "--disturbances", "blur,noise", "--levels", "3",
                 "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "DISTURBANCE" in out and "blur σ in pixels" in out
    assert "this backbone is nearly blind to blur" in out


def test_sanity_command_json_and_plot(tiny, real, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    plot = tmp_path / "curves.png"
    assert main(["sanity", str(real), "--embedder", "tiny-conv", "--disturbances", "noise", "--levels", "2",
                 "--plot", str(plot), "--json", "--quiet"]) == 0
    result = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert result["embedder"] == "tiny-conv" and result["n"] == 30
    assert [level["t"] for level in result["curves"][0]["levels"]] == [0.5, 1.0]
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_sanity_errors_are_one_line(tiny, real, capsys):
    assert main(["sanity", str(real), "--embedder", "tiny-conv", "--disturbances", "lowpass"]) == 2
    assert "unknown disturbance 'lowpass' for image inputs" in capsys.readouterr().err
    assert main(["sanity", str(real), "--embedder", "tiny-conv", "--plot", str(real / "000.png")]) == 2
    assert "error" in capsys.readouterr().err
    assert main(["sanity", str(real), "--embedder", "tiny-conv", "--levels", "1"]) == 2
    assert "at least 2 levels" in capsys.readouterr().err


def test_features_inputs_have_mix_only(tmp_path):
    rows = np.random.default_rng(0).standard_normal((40, 4)).astype(np.float32)
    np.save(tmp_path / "a.npy", rows)
    np.save(tmp_path / "b.npy", rows + 1.0)
    with pytest.raises(frechet.errors.ConfigError, match="no disturbances are installed for features inputs"):
        frechet.sanity(tmp_path / "a.npy", progress=False)
    result = frechet.sanity(tmp_path / "a.npy", disturbances=f"mix:{tmp_path / 'b.npy'}", levels=2, progress=False)
    assert result.curves[0].levels[1].fd > result.curves[0].levels[0].fd > 0


def test_disturbances_command_lists_each_domains_disturbances_with_their_units(capsys):
    assert main(["disturbances", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["disturbances"]
    listed = {(row["name"], row["domain"]): row["unit"] for row in rows}
    assert listed[("blur", "image")] == "blur σ in pixels"
    assert listed[("noise", "audio")].startswith("signal-to-noise ratio in dB")
    assert ("mix:OTHER", "*") in listed


def test_each_warning_is_shown_once_per_run_however_many_levels_repeat_it(tiny, real, caplog):
    frechet.sanity(real, embedder="tiny-conv", disturbances="noise,blur", levels=3, progress=False)
    kid_warnings = [record for record in caplog.records if record.getMessage().startswith("kid: 30 real and 30 fake")]
    assert len(kid_warnings) == 1  # 6 levels measured KID with the same too-large subset size
    assert "metric_options={'kid_subset_size': …}" in kid_warnings[0].getMessage()
    caplog.clear()
    frechet.sanity(real, embedder="tiny-conv", disturbances="noise", levels=2, progress=False)
    assert sum(record.getMessage().startswith("kid: 30") for record in caplog.records) == 1  # a new run: shown again


def test_sanity_takes_the_kid_options_its_advice_names(tiny, real, capsys):
    command = ["sanity", str(real), "--embedder", "tiny-conv", "--disturbances", "noise", "--levels", "2"]
    assert main(command) == 0
    err = capsys.readouterr().err
    assert err.count("kid: 30 real and 30 fake samples") == 1 and "set --kid-subset-size N to choose" in err
    assert main([*command, "--kid-subset-size", "10", "--json"]) == 0
    captured = capsys.readouterr()
    assert "kid:" not in captured.err
    smaller = json.loads(captured.out.splitlines()[-1])["curves"][0]["levels"]
    assert main([*command, "--metric-option", "kid_subset_size=10", "--metric-option", "kid_subsets=3",
                 "--json"]) == 0
    fewer = json.loads(capsys.readouterr().out.splitlines()[-1])["curves"][0]["levels"]
    assert fewer[0]["kid"] != smaller[0]["kid"] and fewer[0]["fd"] == smaller[0]["fd"]
    assert main([*command, "--metric-option", "is_splits=3"]) == 2
    assert "not used by the chosen metrics (kid)" in capsys.readouterr().err


def test_sanity_counts_items_and_the_samples_they_yield_each_by_its_name(tiny, sound_sets, capsys):
    real, _ = sound_sets
    result = frechet.sanity(real, embedder="clip-frames", disturbances="noise", levels=2, progress=False)
    assert result.n_items == 8 and result.n > 8  # each 1-2 s file yields 4-8 frames
    assert result.counted == f"8 items ({result.n} samples)"
    assert main(["sanity", str(real), "--embedder", "clip-frames", "--disturbances", "noise", "--levels", "2",
                 "--quiet"]) == 0
    assert capsys.readouterr().out.startswith(f"{real}: 8 items ({result.n} samples), embedder")


def test_counts_before_embedding_are_called_items_and_after_it_samples(tiny, tmp_path, caplog):
    pytest.importorskip("soundfile")
    from tests.report.conftest import write_sounds

    real, fake = write_sounds(tmp_path / "r", seed=1, count=2), write_sounds(tmp_path / "f", seed=2, count=2)
    result = frechet.compute(real, fake, embedder="clip-frames", metrics="kid", progress=False, cache=False)
    before, after = [record.getMessage() for record in caplog.records if record.getMessage().startswith("kid: ")]
    assert "got 2 real and 2 fake" in before and "counted in items before embedding" in before
    assert after.startswith(f"kid: {result['n_real']} real and {result['n_fake']} fake samples, too few for")
    assert result["n_real_items"] == 2 and result["n_real"] > 3


def test_too_few_items_for_kid_give_fd_curves_without_kid_instead_of_losing_the_run(tiny, real, tmp_path):
    import shutil

    few = tmp_path / "four"
    few.mkdir()
    for image in sorted(p for p in real.iterdir() if p.is_file())[:4]:
        shutil.copy(image, few / image.name)
    result = frechet.sanity(few, embedder="tiny-conv", disturbances="noise", levels=2, progress=False)
    levels = result.curves[0].levels
    assert [level.kid for level in levels] == [None, None]
    assert all(level.fd > 0 for level in levels)
