"""The frechet command: JSON on the last line, statistics files, and one-line errors with exit code 2."""

import json
import re
import subprocess
import sys

import numpy as np
import pytest

import frechet
from frechet import FeatureStats, frechet_distance
from frechet.cli import main


@pytest.fixture
def features(tmp_path):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((300, 8)), rng.standard_normal((250, 8)) * 1.1 + 0.2
    np.save(tmp_path / "a.npy", a.astype(np.float32))
    np.save(tmp_path / "b.npy", b)
    return tmp_path / "a.npy", tmp_path / "b.npy"


def _last_json(capsys):
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def _expected_fd(a_path, b_path):
    a, b = np.load(a_path).astype(np.float64), np.load(b_path)
    return frechet_distance(a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))


def test_distance_of_feature_files_prints_flat_json_on_the_last_line(features, capsys):
    assert main(["distance", *map(str, features), "--json"]) == 0
    result = _last_json(capsys)
    assert result["fd"] == pytest.approx(_expected_fd(*features), rel=1e-12)
    assert (result["n_real"], result["n_fake"]) == (300, 250)
    assert all(key == key.lower() for key in result)


def test_stats_then_distance_equals_distance_of_the_features(features, tmp_path, capsys):
    assert main(["stats", str(features[0]), "-o", str(tmp_path / "a_stats.npz"), "--json"]) == 0
    written = _last_json(capsys)
    assert written["n"] == 300 and written["embedder"] == "features"
    stats = FeatureStats.load(tmp_path / "a_stats.npz")
    assert stats.meta["embedder"] == "features" and stats.meta["frechet_version"] == frechet.__version__
    assert main(["distance", str(tmp_path / "a_stats.npz"), str(features[1]), "--json"]) == 0
    assert _last_json(capsys)["fd"] == pytest.approx(_expected_fd(*features), rel=1e-12)


def test_compute_with_feature_files_infers_the_features_embedder(features, capsys):
    assert main(["compute", *map(str, features), "--json", "--quiet"]) == 0
    result = _last_json(capsys)
    assert result["embedder"] == "features" and result["output"] == "features"
    assert result["fd"] == pytest.approx(_expected_fd(*features), rel=1e-12)


def test_compute_saves_statistics_of_both_sides(features, tmp_path, capsys):
    assert main(["compute", *map(str, features), "--save-stats", str(tmp_path / "saved"), "--quiet"]) == 0
    assert FeatureStats.load(tmp_path / "saved" / "real.npz").n == 300
    assert FeatureStats.load(tmp_path / "saved" / "fake.npz").n == 250


def test_text_output_is_a_readable_table(features, capsys):
    assert main(["distance", *map(str, features)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[0] == "fd" and float(lines[0].split()[1]) > 0


def test_statistics_from_different_embedders_are_not_compared_unless_forced(features, tmp_path, capsys):
    stats = FeatureStats.from_features(np.load(features[0]))
    stats.save(tmp_path / "other.npz", meta={"embedder": "inception(preprocess=tf)", "output": "pool"})
    assert main(["distance", str(tmp_path / "other.npz"), str(features[1])]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--force" in err and "inception(preprocess=tf)" in err
    assert main(["distance", str(tmp_path / "other.npz"), str(features[1]), "--force", "--json"]) == 0


def test_two_statistics_files_from_different_embedders_are_not_compared_unless_forced(features, tmp_path, capsys):
    for name, embedder in (("a", "inception(preprocess=tf)"), ("b", "inception(preprocess=clean)")):
        stats = FeatureStats.from_features(np.load(features[0 if name == "a" else 1]))
        stats.save(tmp_path / f"{name}.npz", meta={"embedder": embedder, "output": "pool"})
    assert main(["distance", str(tmp_path / "a.npz"), str(tmp_path / "b.npz")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "preprocess=tf" in err and "preprocess=clean" in err and "--force" in err
    assert main(["distance", str(tmp_path / "a.npz"), str(tmp_path / "b.npz"), "--force", "--json"]) == 0
    assert _last_json(capsys)["fd"] == pytest.approx(_expected_fd(*features), rel=1e-12)


def test_skipped_items_are_listed_in_the_text_and_json_results(features, tmp_path, capsys):
    rows = np.load(features[0])
    rows[[3, 8]] = np.nan
    np.save(tmp_path / "holes.npy", rows)
    skipped = [f"{tmp_path / 'holes.npy'}[3]", f"{tmp_path / 'holes.npy'}[8]"]
    compute = ["compute", str(tmp_path / "holes.npy"), str(features[1]), "--skip-bad", "--quiet"]
    assert main(compute) == 0
    table = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert table["n_skipped"] == "2" and table["skipped"] == ", ".join(skipped)
    assert main([*compute, "--json"]) == 0
    assert _last_json(capsys)["skipped"] == skipped
    assert main(["distance", str(tmp_path / "holes.npy"), str(features[1]), "--skip-bad", "--json"]) == 0
    assert _last_json(capsys)["skipped"] == skipped
    stats = ["stats", str(tmp_path / "holes.npy"), "-o", str(tmp_path / "holes_stats.npz"), "--skip-bad", "--quiet"]
    assert main(stats) == 0
    table = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert table["n"] == "298" and table["skipped"] == ", ".join(skipped)
    assert main([*stats, "--json"]) == 0
    assert _last_json(capsys)["skipped"] == skipped
    assert FeatureStats.load(tmp_path / "holes_stats.npz").meta["skipped"] == skipped


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["distance", "missing.npy", "missing2.npy"], "missing.npy"),
        (["compute", "x.npy", "y.npy", "--embedder", "nope"], "no such file"),
        (["compute", "{a}", "{b}", "--embedder", "nope"], "unknown embedder 'nope'"),
        (["compute", "{a}", "{b}", "--metrics", "fd,nope"], "unknown metric 'nope'"),
        (["compute", "{a}", "{b}", "--layer", "pool"], "has no output 'pool'"),
        (["compute", "{a}", "{b}", "--metric-option", "bogus=1"], "bogus"),
        (["compute", "{a}", "{b}", "--batch-size", "0"], "--batch-size"),
        (["compute", "{a}", "{b}", "--embedder-option", "noequals"], "KEY=VALUE"),
        (["compute", "{a}", "{b}", "--device", "cuda:3"], "CUDA is not available"),
        (["compute", "{a}", "{b}", "--preprocess", "tf"], "takes no options"),
        (["stats", "{a}"], "-o/--out"),
        (["distance", "{bad}", "{b}"], "not an .npz"),
    ],
)
def test_errors_are_one_line_on_stderr_with_exit_code_2(features, tmp_path, capsys, argv, message):
    (tmp_path / "bad.npz").write_bytes(b"garbage")
    paths = {"a": str(features[0]), "b": str(features[1]), "bad": str(tmp_path / "bad.npz")}
    try:
        code = main([arg.format(**paths) for arg in argv])
    except SystemExit as usage_error:  # argparse's own checks
        code = usage_error.code
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and err.startswith("frechet: error:") and err.count("\n") == 1
    assert "Traceback" not in err


def test_usage_errors_exit_2_with_one_line(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["stats"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_listings_have_json(capsys):
    assert main(["metrics", "--json"]) == 0
    names = {row["name"] for row in _last_json(capsys)["metrics"]}
    assert {"fd", "is"} <= names
    assert main(["embedders", "--json"]) == 0
    assert "features" in {row["name"] for row in _last_json(capsys)["embedders"]}


def test_python_dash_m_frechet_and_version(features):
    version = subprocess.run([sys.executable, "-m", "frechet", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == f"frechet {frechet.__version__}"
    run = subprocess.run([sys.executable, "-m", "frechet", "distance", *map(str, features), "--json"],
                         capture_output=True, text=True)
    assert run.returncode == 0 and json.loads(run.stdout.splitlines()[-1])["fd"] > 0


def test_control_characters_in_a_file_name_are_escaped_in_errors_warnings_and_the_table(tmp_path, capsys):
    forged = tmp_path / "x\nfrechet: info: all good\x1b[2J.npy"
    rows = np.random.default_rng(3).standard_normal((30, 3))
    rows[4] = np.nan
    np.save(forged, rows)
    shown = str(forged).replace("\n", "\\n").replace("\x1b", "\\x1b")
    assert main(["distance", str(forged), str(forged)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"frechet: error: {shown}[4]: this feature row holds NaN")
    assert main(["distance", str(forged), str(forged), "--skip-bad"]) == 0
    out, err = capsys.readouterr()
    assert all(line.startswith("frechet: warning: skipped ") and shown in line for line in err.splitlines())
    assert len(err.splitlines()) == 1 and "\x1b" not in out + err  # the same file on both sides is read once
    table = dict(line.split(None, 1) for line in out.splitlines())
    assert len(table) == len(out.splitlines()) and table["skipped"] == f"{shown}[4]"


def _hostile_statistics(folder):
    """Statistics files that are broken or hostile in one way each, and the line each must give."""
    good = {"mu": np.zeros(3), "sigma": np.eye(3), "n": np.array(10)}

    def meta(**keys):
        return np.asarray(json.dumps({"format": "frechet-stats", "format_version": 1, **keys}))

    files = {
        "deep": ({**good, "meta": np.asarray("[" * 100_000 + "]" * 100_000)},
                 "'meta' is nested 100000 levels deep, more than the 32 frechet reads"),
        "typed": ({**good, "meta": meta(output=["x"], embedder="features")},
                  "'meta' key 'output' must be a text, got [\"x\"]"),
        "newer": ({**good, "meta": meta(format_version=7)},
                  "written by a newer frechet (frechet-stats format version 7; this frechet "
                  f"{frechet.__version__} reads up to version 1); upgrade frechet to read it"),
        "only_mu": ({"mu": np.zeros(3)},
                    "looks like statistics but has no 'sigma' (a statistics file holds 'mu' and 'sigma'); recreate "
                    "it with `frechet stats`"),
        "not_psd": ({**good, "sigma": np.array([[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]])},
                    "the covariance is not positive semi-definite (eigenvalue -1 vs largest 3)"),
    }
    for name, (arrays, _) in files.items():
        np.savez(folder / f"{name}.npz", **arrays)
    np.savez(folder / "ok.npz", **good)
    return {name: message for name, (_, message) in files.items()}


def test_broken_or_hostile_statistics_files_give_one_line_naming_the_file(tmp_path, capsys):
    for name, message in _hostile_statistics(tmp_path).items():
        path = tmp_path / f"{name}.npz"
        assert main(["distance", str(path), str(tmp_path / "ok.npz")]) == 2, name
        error = capsys.readouterr().err.strip().splitlines()[-1]
        assert error.startswith(f"frechet: error: {path}: ") and message in error, (name, error)
    assert main(["distance", str(tmp_path / "nope.npz"), str(tmp_path / "ok.npz")]) == 2
    assert capsys.readouterr().err == (f"frechet: error: {tmp_path / 'nope.npz'}: no such file; `frechet distance` "
                                       "takes statistics (.npz with mu, sigma) or feature files (.npy/.npz)\n")


def test_the_same_embedder_option_given_twice_is_an_error_not_a_silent_last_wins(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((4, 2)))
    assert main(["compute", str(tmp_path / "a.npy"), str(tmp_path / "a.npy"), "--embedder-option", "a=1",
                 "--embedder-option", "a=2"]) == 2
    assert capsys.readouterr().err == "frechet: error: --embedder-option a= given twice ('1' and '2'); give it once\n"
    assert main(["compute", str(tmp_path / "a.npy"), str(tmp_path / "a.npy"), "--metric-option", "kid_subsets=1",
                 "--metric-option", "kid_subsets=2", "--metrics", "kid"]) == 2
    assert "--metric-option kid_subsets= given twice" in capsys.readouterr().err


def test_a_value_nobody_knows_prints_as_a_dash(tmp_path, capsys):
    rng = np.random.default_rng(4)
    np.savez(tmp_path / "foreign.npz", mu=np.zeros(3), sigma=np.eye(3))  # pytorch-fid's layout: no count, no meta
    np.save(tmp_path / "rows.npy", rng.standard_normal((20, 3)))
    assert main(["distance", str(tmp_path / "foreign.npz"), str(tmp_path / "rows.npy"), "--force"]) == 0
    table = dict(line.split(None, 1) for line in capsys.readouterr().out.splitlines())
    assert table["n_real"] == "-" and table["skipped"] == "-"


def test_results_and_listings_show_what_nobody_knows_as_a_dash_never_none(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("FRECHET_WEIGHTS_DIR", str(tmp_path / "weights"))
    np.savez(tmp_path / "foreign.npz", mu=np.zeros(3), sigma=np.eye(3))  # no count, no meta
    np.save(tmp_path / "rows.npy", np.random.default_rng(5).standard_normal((20, 3)))
    unknown = {  # each command, and a line it must show with a dash where the value is not known
        ("compute", str(tmp_path / "foreign.npz"), str(tmp_path / "rows.npy"), "--force"): r"n_real\s+-$",
        ("stats", str(tmp_path / "rows.npy"), "-o", str(tmp_path / "rows.npz")): r"skipped\s+-$",
        ("refs", "ttur-lsun-bedroom-train"): r"resolution\s+-$",
        ("refs", "ttur"): r"ref:ttur-lsun-bedroom-train .* 3,033,042\s+-\s+LSUN",
        ("weights",): r"mirror:\s+-\s",
        ("embedders",): r"torchscript:TARGET\s+image\s+-\s",
        ("cache", "ls", "--cache-dir", str(tmp_path / "cache")): r"0 cached inputs, 0 B in all",
        ("plugins",): r"inception\s+loaded",
        ("metrics",): r"kid\s+-\s",
    }
    for argv, expected in unknown.items():
        assert main(list(argv)) == 0
        out = capsys.readouterr().out
        assert "None" not in out, f"frechet {' '.join(argv)} printed None:\n{out}"
        assert any(re.search(expected, line) for line in out.splitlines()), f"frechet {' '.join(argv)}:\n{out}"


def test_help_and_listings_never_import_torch_or_build_a_model():
    code = (
        "import sys\n"
        "from frechet.cli import main\n"
        "for argv in (['--help'], ['compute', '--help'], ['stats', '--help'], ['report', '--help'],\n"
        "             ['sanity', '--help']):\n"
        "    try:\n"
        "        main(argv)\n"
        "    except SystemExit:\n"
        "        pass\n"
        "assert 'torch' not in sys.modules, 'help imported torch'\n"
        "assert 'matplotlib' not in sys.modules, 'help imported matplotlib'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("command", ["compute", "stats", "distance", "report", "sanity", "plugins", "embedders",
                                     "sources", "metrics", "disturbances", "cache"])
def test_every_command_help_has_examples_and_names_the_environment(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = capsys.readouterr().out
    assert "examples:\n  frechet " in text and "environment: FRECHET_" in text
