"""torchrun: two gloo processes on the CPU give the single-process statistics and metrics, gather kept features and
skipped items in item order, write on rank 0 only, and share the feature cache with single-process runs."""

import json

import numpy as np
import pytest

import frechet
from frechet.cli import main
from frechet.distributed import World

TORCHRUN = ("-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2")


def _relative(a, b):
    return float(np.abs(a - b).max() / np.abs(b).max())


@pytest.fixture
def sides(tmp_path):
    """Two feature files; the fake one has NaN rows (bad items) in shards owned by both ranks."""
    rng = np.random.default_rng(5)
    real, fake = tmp_path / "real.npy", tmp_path / "fake.npy"
    np.save(real, rng.standard_normal((330, 8)).astype(np.float32))
    matrix = rng.standard_normal((270, 8)) * 1.2 + 0.3
    matrix[[3, 61, 62, 205]] = np.nan
    np.save(fake, matrix)
    return real, fake


def test_torchrun_stats_equal_the_single_process_statistics(projection, rows_file, tmp_path, run_frechet):
    args = ["stats", str(rows_file), "--embedder", "projection", "--shard-size", "30", "--batch-size", "16"]
    args.append("--no-cache")
    two = run_frechet(*args, "-o", str(tmp_path / "two.npz"), "--json", launcher=TORCHRUN)
    assert main([*args, "-o", str(tmp_path / "one.npz")]) == 0  # one process: this one
    printed = [line for line in two.stdout.splitlines() if line.startswith("{")]
    assert len(printed) == 1 and json.loads(printed[0])["n"] == 400  # rank 0 reports, rank 1 stays silent
    one, two = frechet.load_stats(tmp_path / "one.npz"), frechet.load_stats(tmp_path / "two.npz")
    assert two.n == one.n == 400 and two.meta["n_items"] == 400
    assert _relative(two.cov, one.cov) <= 1e-12
    assert _relative(two.mean, one.mean) <= 1e-12


def test_torchrun_compute_matches_one_process_and_fills_the_cache_it_shares(
    projection, sides, tmp_path, run_frechet, capsys
):
    args = [
        "compute", *map(str, sides), "--embedder", "projection", "--metrics", "fd,is", "--skip-bad",
        "--shard-size", "25", "--batch-size", "10", "--json", "--quiet",
    ]
    two = run_frechet(*args, "--save-stats", str(tmp_path / "two"), launcher=TORCHRUN)
    two = json.loads(two.stdout.splitlines()[-1])
    capsys.readouterr()
    calls = projection.CALLS
    assert main([*args, "--save-stats", str(tmp_path / "one")]) == 0  # one process: this one
    one = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert projection.CALLS == calls  # the two ranks cached every shard; one process reads them all
    assert main([*args, "--no-cache"]) == 0
    uncached = json.loads(capsys.readouterr().out.splitlines()[-1])
    for result in (one, uncached):
        assert two["fd"] == pytest.approx(result["fd"], rel=1e-12)
        assert two["is_mean"] == pytest.approx(result["is_mean"], rel=1e-12)  # logits gathered in item order
        assert two["skipped"] == result["skipped"] == [f"{sides[1]}[{index}]" for index in (3, 61, 62, 205)]
        assert (two["n_real"], two["n_fake"]) == (result["n_real"], result["n_fake"]) == (330, 266)
    for name in ("real", "fake"):
        two_ranks = frechet.load_stats(tmp_path / "two" / f"{name}.npz")
        assert _relative(two_ranks.cov, frechet.load_stats(tmp_path / "one" / f"{name}.npz").cov) <= 1e-12


@pytest.mark.parametrize("shard_size", [3, 50], ids=["both-ranks", "rank-0-only"])
def test_torchrun_statistics_of_fewer_samples_than_dimensions_keep_their_rows(tmp_path, run_frechet, shard_size):
    rows = tmp_path / "rows.npy"
    np.save(rows, np.random.default_rng(3).standard_normal((10, 32)))
    args = ["stats", str(rows), "--shard-size", str(shard_size), "--no-cache", "--quiet"]
    run_frechet(*args, "-o", str(tmp_path / "two.npz"), launcher=TORCHRUN)
    assert main([*args, "-o", str(tmp_path / "one.npz")]) == 0  # one process: this one
    one, two = frechet.load_stats(tmp_path / "one.npz"), frechet.load_stats(tmp_path / "two.npz")
    assert two.n == one.n == 10
    assert _relative(two.cov, one.cov) <= 1e-12 and _relative(two.mean, one.mean) <= 1e-12


def test_shards_go_round_robin_so_every_rank_gets_every_size_th_shard():
    worlds = [World(rank, 3) for rank in range(3)]
    owners = [[world.rank for world in worlds if world.owns(shard)] for shard in range(7)]
    assert owners == [[0], [1], [2], [0], [1], [2], [0]]

