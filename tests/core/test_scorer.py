"""frechet.Scorer: fed in uneven batches it gives exactly frechet.compute on the concatenated items; float images are
the uint8 path after rounding; reset keeps the reference; its state round-trips mid-stream; two gloo processes equal
one; one rank calling compute() alone is an error within seconds; the caller's autocast and RNG are untouched."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch

import frechet
from frechet.errors import ConfigError, InputError
from frechet.scorer import Scorer, evaluate

#: A tiny image embedder: per-channel mean and spread, a 2-layer conv's pooled output (domain "image").
IMAGE_PLUGIN = """
    import torch
    from frechet import Embedder, hookimpl

    frechet_requires = ("image",)

    class TinyConv(Embedder):
        name = "tiny-conv"
        domain = "image"
        outputs = {"pooled": 8}
        default_output = "pooled"

        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Tanh(), torch.nn.AdaptiveAvgPool2d(1),
                                           torch.nn.Flatten())
            torch.nn.init.normal_(self.net[0].weight, generator=torch.Generator().manual_seed(3))
            torch.nn.init.zeros_(self.net[0].bias)

        def transform(self, image):
            return torch.from_numpy(image).permute(2, 0, 1).float() / 255

        def forward(self, batch):
            return {"pooled": self.net(batch)}

    @hookimpl
    def frechet_register_embedders(register):
        register(TinyConv)
"""


@pytest.fixture
def tiny_conv(install_plugin):
    return install_plugin("tiny-conv", IMAGE_PLUGIN, module="frechet_test_tiny_conv")


def _images(count, seed, size=12):
    return np.random.default_rng(seed).integers(0, 256, (count, size, size, 3), dtype=np.uint8)


def _relative(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / max(np.abs(np.asarray(b)).max(), 1e-300))


def test_uneven_batches_give_exactly_compute_on_the_concatenated_items(projection):
    rng = np.random.default_rng(1)
    real, fake = rng.standard_normal((90, 5)), rng.standard_normal((77, 5)) + 0.2
    scorer = Scorer(metrics=["fd", "kid"], embedder="projection", metric_options={"kid_subset_size": 20})
    for rows in np.array_split(real, 7):
        scorer.update(rows, real=True)
    for rows in np.split(fake, [3, 4, 20, 41, 42, 70]):  # 7 uneven batches, one of a single row
        scorer.update(rows)
    result = scorer.compute()
    expected = frechet.compute(real, fake, metrics=["fd", "kid"], embedder="projection",
                               metric_options={"kid_subset_size": 20}, progress=False)
    assert _relative(result["fd"], expected["fd"]) <= 1e-12
    assert _relative(result["kid"], expected["kid"]) <= 1e-12
    assert {key: result[key] for key in ("n_real", "n_fake", "embedder", "output")} == {
        key: expected[key] for key in ("n_real", "n_fake", "embedder", "output")}


def test_fid_alone_keeps_the_running_sums_never_the_features(projection):
    scorer = Scorer(metrics=["fd"], embedder="projection")
    scorer.update(np.random.default_rng(0).standard_normal((40, 5)))
    assert scorer.state_dict()["fake"]["features"] == {}
    assert set(scorer.state_dict()["fake"]["stats"]) == {"projected"}


def test_float_images_equal_the_uint8_path_after_rounding_never_truncating(tiny_conv):
    levels = np.clip(_images(9, 4), 1, 254)
    as_float = levels.astype(np.float64) / 255 + np.random.default_rng(2).uniform(-0.49, 0.49, levels.shape) / 255
    scorers = [Scorer(metrics=["fd"], embedder="tiny-conv") for _ in range(2)]
    for scorer, batch in zip(scorers, (levels, torch.from_numpy(as_float).permute(0, 3, 1, 2).float())):
        scorer.update(_images(10, 5), real=True)
        scorer.update(batch)
    assert scorers[0].compute()["fd"] == scorers[1].compute()["fd"]


def test_reset_keeps_the_reference_and_state_round_trips_mid_stream(projection, tmp_path):
    rng = np.random.default_rng(3)
    reference, first, second = rng.standard_normal((60, 5)), rng.standard_normal((30, 5)), rng.standard_normal((25, 5))
    np.save(tmp_path / "reference.npy", reference)
    scorer = Scorer(metrics=["fd"], embedder="projection", reference=tmp_path / "reference.npy")
    scorer.update(first)
    saved = scorer.state_dict()
    scorer.update(second)
    whole = scorer.compute()["fd"]
    resumed = Scorer(metrics=["fd"], embedder="projection", reference=tmp_path / "reference.npy")
    resumed.load_state_dict(saved)
    resumed.update(second)
    assert resumed.compute()["fd"] == pytest.approx(whole, rel=1e-12)
    scorer.reset()
    scorer.update(second)
    expected = frechet.compute(tmp_path / "reference.npy", second, embedder="projection", progress=False)["fd"]
    assert scorer.compute()["fd"] == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ConfigError,
                       match=r"made with embedder projection\(dims=6,seed=0\).*uses projection\(dims=6,seed=1\)"):
        Scorer(metrics=["fd"], embedder="projection", embedder_options={"seed": "1"}).load_state_dict(saved)


def test_a_statistics_reference_is_used_as_given(projection, tmp_path):
    rng = np.random.default_rng(6)
    reference = frechet.compute_stats(rng.standard_normal((50, 5)), embedder="projection", progress=False)
    path = reference.save(tmp_path / "ref.npz")
    fake = rng.standard_normal((40, 5))
    scorer = Scorer(metrics=["fd"], embedder="projection", reference=path)
    scorer.update(fake)
    assert scorer.compute()["fd"] == pytest.approx(frechet.compute(path, fake, embedder="projection",
                                                                   progress=False)["fd"], rel=1e-12)


def test_compute_before_any_update_says_what_to_feed(projection):
    with pytest.raises(InputError, match=r"no real items yet; feed them with update\(\.\.\., real=True\)"):
        Scorer(metrics=["fd"], embedder="projection").compute()
    scorer = Scorer(metrics=["fd"], embedder="projection", reference=np.ones((4, 5)) * np.arange(4)[:, None])
    with pytest.raises(InputError, match=r"no fake items yet; feed them with update\(\)"):
        scorer.compute()


def test_the_callers_autocast_and_random_state_are_untouched(tiny_conv, tmp_path):
    reference = tmp_path / "reference"
    reference.mkdir()
    from PIL import Image

    for index, image in enumerate(_images(6, 7)):
        Image.fromarray(image).save(reference / f"{index}.png")
    torch.manual_seed(123)
    before = torch.get_rng_state()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        scorer = Scorer(metrics=["fd"], embedder="tiny-conv", reference=reference, workers=1)
        scorer.update(_images(8, 8))
        inside = scorer.compute()["fd"]
        assert torch.is_autocast_enabled("cpu")  # still the caller's context
    assert torch.equal(torch.get_rng_state(), before)
    plain = Scorer(metrics=["fd"], embedder="tiny-conv", reference=reference)
    plain.update(_images(8, 8))
    assert inside == plain.compute()["fd"]  # fp32 features: the caller's bf16 autocast did not reach them


def test_evaluate_draws_from_a_generator_until_n_samples(tiny_conv):
    drawn = []

    def generator(batch):
        drawn.append(batch)
        return torch.from_numpy(_images(batch, len(drawn))).permute(0, 3, 1, 2)

    result = evaluate(generator, 10, reference=_images(12, 0), batch_size=4, embedder="tiny-conv")
    assert drawn == [4, 4, 4] and result["n_fake"] == 10 and result["fd"] > 0


#: One torchrun launch of two gloo processes serves every multi-process test of this file (each launch costs two
#: torch imports and a rendezvous): the cases run in order, each with a Scorer of its own, and every rank prints one
#: JSON object per result, tagged with its case. The lone compute() comes last: it leaves its rank's group broken.
_RANKS = """
import json, sys
import numpy as np, torch.distributed as dist
dist.init_process_group("gloo")
rank = dist.get_rank()
from frechet.scorer import Scorer

def report(case, **fields):
    print(json.dumps({"case": case, "rank": rank, **fields}), flush=True)

# uneven shards: both ranks compute
rng = np.random.default_rng(9)
real, fake = rng.standard_normal((70, 5)), rng.standard_normal((53, 5)) + 0.3
scorer = Scorer(metrics=["fd", "kid"], embedder="projection", metric_options={"kid_subset_size": 20}, sync_timeout=5)
mine = [slice(0, 31), slice(31, 70)][rank], [slice(0, 9), slice(9, 53)][rank]  # uneven shards
scorer.update(real[mine[0]], real=True)
scorer.update(fake[mine[1]])
result = scorer.compute().as_dict()
report("uneven", fd=result["fd"], kid=result["kid"])

# per layout, each rank's (real, fake) rows: a rank may feed no items of a side, or none at all
rng = np.random.default_rng(4)
real, fake = rng.standard_normal((40, 5)), rng.standard_normal((30, 5)) + 0.3
layouts = {"rank 1 feeds no fake": [(slice(0, 25), slice(0, 30)), (slice(25, 40), slice(0, 0))],
           "rank 0 feeds nothing": [(slice(0, 0), slice(0, 0)), (slice(0, 40), slice(0, 30))]}
for name, shares in layouts.items():
    scorer = Scorer(metrics=["fd", "kid", "is"], embedder="projection", metric_options={"kid_subset_size": 10},
                    sync_timeout=20)
    mine = shares[rank]
    if mine[0].stop > mine[0].start:
        scorer.update(real[mine[0]], real=True)
    if mine[1].stop > mine[1].start:
        scorer.update(fake[mine[1]])
    result = scorer.compute()
    report("empty", layout=name, **{key: result[key] for key in ("fd", "kid", "is_mean")})

# rank 0 calls compute() alone
rng = np.random.default_rng(9)
real, fake = rng.standard_normal((70, 5)), rng.standard_normal((53, 5)) + 0.3
scorer = Scorer(metrics=["fd", "kid"], embedder="projection", metric_options={"kid_subset_size": 20}, sync_timeout=5)
mine = [slice(0, 31), slice(31, 70)][rank], [slice(0, 9), slice(9, 53)][rank]
scorer.update(real[mine[0]], real=True)
scorer.update(fake[mine[1]])
if rank == 0:
    try:
        result = scorer.compute().as_dict()
    except Exception as error:
        report("lone", error=str(error))
    else:
        report("lone", fd=result["fd"])
dist.destroy_process_group()
"""


@pytest.fixture(scope="module")
def two_ranks(projection_site, tmp_path_factory):
    """The launch of :data:`_RANKS`: (the finished process, the printed objects of each case)."""
    script = tmp_path_factory.mktemp("ranks") / "ranks.py"
    script.write_text(_RANKS)
    env = {**os.environ, "PYTHONPATH": str(projection_site)}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2", str(script)],
        capture_output=True, text=True, timeout=600, env=env, check=False,
    )
    # the ranks' lines can reach torchrun's merged stdout run together: read every object, wherever it starts
    printed = [json.loads(found) for found in re.findall(r"\{[^{}]*\}", done.stdout)]
    cases = {case: [line for line in printed if line["case"] == case] for case in ("uneven", "empty", "lone")}
    return done, cases


def test_two_gloo_processes_equal_one(projection, two_ranks):
    done, cases = two_ranks
    assert done.returncode == 0, done.stderr[-2000:]
    printed = cases["uneven"]
    assert len(printed) == 2
    rng = np.random.default_rng(9)
    real, fake = rng.standard_normal((70, 5)), rng.standard_normal((53, 5)) + 0.3
    one = frechet.compute(real, fake, metrics=["fd", "kid"], embedder="projection",
                          metric_options={"kid_subset_size": 20}, progress=False)
    assert printed[0]["fd"] == printed[1]["fd"]
    assert _relative(printed[0]["fd"], one["fd"]) <= 1e-12 and _relative(printed[0]["kid"], one["kid"]) <= 1e-12


def test_a_lone_compute_fails_within_seconds(two_ranks):
    done, cases = two_ranks
    printed = cases["lone"]
    assert printed and "error" in printed[0] and "not every rank called compute()" in printed[0]["error"], (
        done.stderr[-2000:])


def test_ranks_that_feed_no_items_of_a_side_give_the_one_process_result_for_every_metric_kind(projection, two_ranks):
    """Statistics (fd), kept rows (kid) and logits (is) gathered from ranks holding 0 rows, on either rank."""
    done, cases = two_ranks
    assert done.returncode == 0, done.stderr[-2000:]
    printed = cases["empty"]
    rng = np.random.default_rng(4)
    real, fake = rng.standard_normal((40, 5)), rng.standard_normal((30, 5)) + 0.3
    one = frechet.compute(real, fake, metrics=["fd", "kid", "is"], embedder="projection",
                          metric_options={"kid_subset_size": 10}, progress=False)
    assert len(printed) == 4
    for line in printed:
        assert _relative(line["fd"], one["fd"]) <= 1e-12, line
        assert _relative(line["kid"], one["kid"]) <= 1e-9, line
        assert _relative(line["is_mean"], one["is_mean"]) <= 1e-12, line
