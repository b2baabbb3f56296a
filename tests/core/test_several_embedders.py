"""Several embedders in one run: each item decoded once and fed to every embedder, results keyed by embedder, the
same numbers as separate runs, options addressed per embedder, statistics saved per embedder."""

import json

import numpy as np
import pytest

import frechet
from frechet.cli import main
from frechet.errors import ConfigError


@pytest.fixture
def folders(tmp_path):
    """Two folders of 30 one-row .npy files (a source whose items are decoded one by one)."""
    rng = np.random.default_rng(5)
    made = []
    for side, shift in (("real", 0.0), ("fake", 0.4)):
        folder = tmp_path / side
        folder.mkdir()
        for index, row in enumerate(rng.standard_normal((30, 4)) + shift):
            np.save(folder / f"{index:03d}.npy", row)
        made.append(folder)
    return made


def test_one_pass_decodes_each_item_once_and_equals_separate_runs(projection, folders):
    real, fake = folders
    options = {"metrics": "fd,kid", "metric_options": {"kid_subset_size": 10}, "progress": False, "cache": False}
    before = projection.LOADS
    together = frechet.compute(real, fake, embedder="projection,wide", **options)
    assert projection.LOADS - before == 60  # 30 items per side, each decoded once for both embedders
    alone = {name: frechet.compute(real, fake, embedder=name, **options) for name in ("projection", "wide")}
    for name, result in alone.items():
        assert together[f"fd_{name}"] == pytest.approx(result["fd"], rel=1e-12)
        assert together[f"kid_{name}"] == pytest.approx(result["kid"], rel=1e-12)
        assert together[f"embedder_{name}"] == result["embedder"]
        assert together[f"n_real_{name}"] == result["n_real"] == 30
    assert together["n_skipped"] == 0 and "fd" not in together


def test_options_name_their_embedder_when_there_are_several(projection, folders):
    real, fake = folders
    result = frechet.compute(real, fake, embedder=["projection", "wide"], progress=False, cache=False,
                             embedder_options={"wide.dims": "3", "projection.seed": 1})
    assert result["embedder_wide"] == "wide(dims=3,seed=7)"
    assert result["embedder_projection"] == "projection(dims=6,seed=1)"
    with pytest.raises(ConfigError, match=r"with several embedders, name the one it is for, e\.g\. .*projection\.dims"):
        frechet.compute(real, fake, embedder="projection,wide", embedder_options={"dims": 3})
    with pytest.raises(ConfigError, match="names embedder 'inception', which this run does not use"):
        frechet.compute(real, fake, embedder="projection,wide", embedder_options={"inception.preprocess": "tf"})
    with pytest.raises(ConfigError, match="has no option 'dim' \\(did you mean 'dims'\\?\\)"):
        frechet.compute(real, fake, embedder="projection,wide", embedder_options={"wide.dim": 3})


def test_stats_of_several_embedders_go_to_one_file_each(projection, folders, tmp_path, capsys):
    real, _ = folders
    assert main(["stats", str(real), "-o", str(tmp_path / "ref.npz"), "--embedder", "projection,wide", "--json",
                 "--quiet"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["path"] for row in printed] == [str(tmp_path / "ref.projection.npz"), str(tmp_path / "ref.wide.npz")]
    for name in ("projection", "wide"):
        saved = frechet.load_stats(tmp_path / f"ref.{name}.npz")
        alone = frechet.compute_stats(real, embedder=name, progress=False)
        assert saved.meta["embedder"] == alone.meta["embedder"]
        np.testing.assert_allclose(saved.mean, alone.mean, rtol=1e-12)
    assert not (tmp_path / "ref.npz").exists()


def test_one_layer_cannot_serve_several_embedders(projection, folders):
    with pytest.raises(ConfigError, match="picks one embedder's output"):
        frechet.compute(*folders, embedder="projection,wide", layer="logits")


def test_an_embedder_served_by_the_cache_is_not_run_again_beside_one_that_is_not(projection, folders):
    real, fake = folders
    options = {"progress": False, "shard_size": 10}
    alone = frechet.compute(real, fake, embedder="projection", **options)
    calls, loads = projection.CALLS, projection.LOADS
    together = frechet.compute(real, fake, embedder="projection,wide", **options)
    assert projection.CALLS - calls == 6  # wide only: 3 shards of 10 items per side, one batch each
    assert projection.LOADS - loads == 60
    assert together["fd_projection"] == pytest.approx(alone["fd"], rel=1e-12)
    calls, loads = projection.CALLS, projection.LOADS
    again = frechet.compute(real, fake, embedder="projection,wide", **options)
    assert (projection.CALLS, projection.LOADS) == (calls, loads)  # everything from the cache: nothing decoded
    assert again.as_dict() == together.as_dict()
