"""``precision``: fp32 by default; bf16 runs the forward pass under autocast, is named in the embedder id and the
statistics' meta, never shares cache entries or comparisons with fp32, and is refused where it cannot apply."""

import numpy as np
import pytest
import torch

import frechet
from frechet import Embedder
from frechet.cli import main
from frechet.errors import ConfigError, IncompatibleStatsError
from frechet.plugins import get_registry
from frechet.precision import allow_tf32, autocast, check_precision, exact_float32

_WEIGHTS = torch.randn(8, 16, generator=torch.Generator().manual_seed(3))


class _Linear(Embedder):
    """Float32 rows times a fixed float32 matrix: a product autocast turns into bf16."""

    name = "linear"
    domain = "features"
    parallel_transform = False
    outputs = {"out": 16}
    default_output = "out"

    def transform(self, item):
        return torch.as_tensor(item, dtype=torch.float32)

    def forward(self, batch):
        return {"out": batch @ _WEIGHTS}


@pytest.fixture
def linear():
    get_registry().add_embedder("linear", _Linear, domain="features", outputs={"out": 16}, description="test")


@pytest.fixture
def rows():
    return np.random.default_rng(0).standard_normal((300, 8)).astype(np.float32)


def test_bf16_runs_the_forward_pass_under_autocast_and_accumulates_in_float64(linear, rows):
    fp32 = frechet.compute_stats(rows, embedder="linear", progress=False)
    bf16 = frechet.compute_stats(rows, embedder="linear", precision="bf16", progress=False)
    rounded = (torch.from_numpy(rows).bfloat16() @ _WEIGHTS.bfloat16()).double().numpy()
    assert np.allclose(bf16.mean, rounded.mean(axis=0), rtol=0, atol=1e-12)
    assert np.allclose(bf16.cov, np.cov(rounded, rowvar=False), rtol=1e-12, atol=1e-12)
    exact = rows.astype(np.float64) @ _WEIGHTS.double().numpy()
    assert np.allclose(fp32.cov, np.cov(exact, rowvar=False), rtol=1e-5, atol=1e-5)
    assert not np.allclose(bf16.cov, fp32.cov, rtol=1e-5, atol=1e-5)  # bf16 keeps 8 bits of mantissa
    assert np.allclose(bf16.cov, fp32.cov, rtol=0.05, atol=0.05)


def test_fp32_is_the_default_and_leaves_the_id_as_before(linear, rows):
    stats = frechet.compute_stats(rows, embedder="linear", progress=False)
    assert stats.meta["precision"] == "fp32"
    assert stats.meta["embedder"] == "linear" and stats.meta["config"] == {}


def test_bf16_is_named_in_the_embedder_id_and_the_statistics_meta(linear, rows, tmp_path):
    stats = frechet.compute_stats(rows, embedder="linear", precision="BF16", progress=False)
    assert stats.meta["precision"] == "bf16"
    assert stats.meta["embedder"] == "linear(precision=bf16)"
    assert stats.meta["config"] == {"precision": "bf16"}
    loaded = frechet.load_stats(stats.save(tmp_path / "bf16.npz"))
    assert loaded.meta["precision"] == "bf16"


def test_bf16_statistics_are_refused_against_an_fp32_run_unless_forced(linear, rows, tmp_path):
    saved = frechet.compute_stats(rows, embedder="linear", precision="bf16", progress=False).save(tmp_path / "r.npz")
    with pytest.raises(IncompatibleStatsError, match=r"linear\(precision=bf16\).*uses linear "):
        frechet.compute(saved, rows, embedder="linear", progress=False)
    forced = frechet.compute(saved, rows, embedder="linear", progress=False, force=True)
    assert 0 <= forced["fd"] < 1e-3


def test_bf16_never_reads_or_overwrites_fp32_cache_entries(projection, rows_file):
    options = {"embedder": "projection", "shard_size": 100, "progress": False}
    frechet.compute_stats(rows_file, **options)
    calls = projection.CALLS
    frechet.compute_stats(rows_file, precision="bf16", **options)
    assert projection.CALLS == 2 * calls  # embedded again: a different id
    frechet.compute_stats(rows_file, **options)
    frechet.compute_stats(rows_file, precision="bf16", **options)
    assert projection.CALLS == 2 * calls  # and both are cached, side by side
    ids = {entry.embedder for entry in frechet.cache.FeatureCache().entries()}
    assert ids == {"projection(dims=6,seed=0)", "projection(dims=6,precision=bf16,seed=0)"}


def test_an_unknown_precision_is_a_config_error_listing_the_choices(rows):
    with pytest.raises(ConfigError, match="'fp8' is not known; choose one of fp32, bf16"):
        frechet.compute_stats(rows, precision="fp8")
    with pytest.raises(ConfigError, match="choose one of fp32, bf16"):
        check_precision("half")


def test_the_cli_refuses_an_unknown_precision_in_one_line(rows_file, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["stats", str(rows_file), "-o", str(tmp_path / "s.npz"), "--precision", "fp8"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "--precision" in error and "fp8" in error and len(error.strip().splitlines()) == 1


def test_the_cli_passes_bf16_to_the_run(linear, tmp_path, capsys):
    np.save(tmp_path / "rows.npy", np.random.default_rng(1).standard_normal((50, 8)).astype(np.float32))
    assert main(["stats", str(tmp_path / "rows.npy"), "-o", str(tmp_path / "s.npz"), "--embedder", "linear",
                 "--precision", "bf16", "--quiet"]) == 0
    assert frechet.load_stats(tmp_path / "s.npz").meta["embedder"] == "linear(precision=bf16)"


def test_an_embedder_that_autocast_cannot_reach_refuses_bf16(rows):
    with pytest.raises(ConfigError, match="embedder 'features' runs in fp32 only, not --precision bf16"):
        frechet.compute(rows, rows, precision="bf16")


def test_fp32_runs_without_autocast():
    with autocast("fp32", torch.device("cpu")):
        assert not torch.is_autocast_enabled("cpu")
    with autocast("bf16", torch.device("cpu")):
        assert torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu") == torch.bfloat16


def test_tf32_is_off_inside_exact_float32_on_cuda_and_restored_after():
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = True
    try:
        with exact_float32(torch.device("cuda")):
            assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
        with exact_float32(torch.device("cpu")):
            assert torch.backends.cudnn.allow_tf32  # nothing to change on the CPU
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def test_tf32_is_on_inside_allow_tf32_on_cuda_and_restored_after():
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with allow_tf32(torch.device("cuda")):
            assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
        assert not torch.backends.cudnn.allow_tf32 and not torch.backends.cuda.matmul.allow_tf32
        with allow_tf32(torch.device("cpu")):
            assert not torch.backends.cudnn.allow_tf32  # nothing to change on the CPU
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
