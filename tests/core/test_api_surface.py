"""The Python API's surface as documented: Result is a read-only mapping, evaluate's generator returning no batch is
one line, a FeatureStats in memory is a reference like a saved statistics file, and a misspelt keyword suggests the
closest keyword of the function called."""

from collections.abc import Mapping

import numpy as np
import pytest
import torch

import frechet
from frechet import FeatureStats
from frechet.errors import ConfigError, InputError
from frechet.scorer import Scorer, evaluate


def test_a_result_is_a_read_only_mapping_of_its_keys(projection):
    rng = np.random.default_rng(0)
    result = frechet.compute(rng.standard_normal((30, 5)), rng.standard_normal((25, 5)), embedder="projection",
                             metrics=["fd", "kid"], metric_options={"kid_subset_size": 10}, progress=False)
    plain = result.as_dict()
    assert isinstance(result, Mapping)
    assert list(result) == list(plain) and len(result) == len(plain) and dict(result) == plain
    assert dict(result.items()) == plain and list(result.keys()) == list(plain) and result == plain
    assert result.get("fd") == plain["fd"] and result.get("nothing", "default") == "default"
    assert "kid" in result and "nothing" not in result
    with pytest.raises(KeyError):
        result["nothing"]
    with pytest.raises(TypeError):
        result["fd"] = 0.0
    plain["fd"] = -1.0
    assert result["fd"] != -1.0  # as_dict is a copy


@pytest.mark.parametrize("returned", [None, 3, torch.tensor(1.0), {"images": 1}], ids=["None", "int", "0-d", "dict"])
def test_a_generator_that_returns_no_batch_is_one_line_naming_what_it_returned(projection, returned):
    with pytest.raises(InputError, match=rf"generator\(4\) returned {type(returned).__name__}; it must return a batch"):
        evaluate(lambda size: returned, 8, reference=np.random.default_rng(1).standard_normal((10, 5)), batch_size=4,
                 embedder="projection")


def test_a_feature_stats_object_is_a_reference_like_the_saved_file(projection, tmp_path):
    rng = np.random.default_rng(2)
    reference, fake = rng.standard_normal((40, 5)), rng.standard_normal((30, 5))
    stats = frechet.compute_stats(reference, embedder="projection", progress=False)
    path = stats.save(tmp_path / "reference.npz")
    scores = []
    for given in (stats, path):
        scorer = Scorer(reference=given, embedder="projection")
        scorer.update(fake)
        scores.append(scorer.compute()["fd"])
    assert scores[0] == scores[1]
    assert frechet.compute(stats, fake, embedder="projection", progress=False)["fd"] == scores[1]
    with pytest.raises(InputError, match=r"FeatureStats\(n=0, dim=\?\) holds no samples"):
        Scorer(reference=FeatureStats(), embedder="projection")


@pytest.mark.parametrize("call, suggested", [
    (lambda: Scorer(refernce=np.zeros((3, 5)), embedder="projection"), "reference"),
    (lambda: Scorer(sync_timout=5, embedder="projection"), "sync_timeout"),
    (lambda: frechet.compute_stats(np.zeros((3, 5)), sav="x.npz"), "save"),
    (lambda: frechet.sanity(np.zeros((3, 5)), disturbance="blur"), "disturbances"),
    (lambda: frechet.write_report(np.zeros((3, 5)), np.zeros((3, 5)), galery_size=3), "gallery_size"),
    (lambda: frechet.compute(np.zeros((3, 5)), np.zeros((3, 5)), batchsize=3), "batch_size"),
])
def test_a_misspelt_keyword_suggests_the_closest_keyword_of_the_function(projection, call, suggested):
    with pytest.raises(ConfigError, match=rf"unknown setting '\w+' \(did you mean '{suggested}'\?\)"):
        call()


@pytest.mark.parametrize("call, message", [
    (lambda: Scorer(sync_timeout=-1, embedder="projection"),
     r"Scorer\(sync_timeout=-1\): it must be a number of seconds"),
    (lambda: Scorer(sync_timeout="5", embedder="projection"), r"Scorer\(sync_timeout='5'\)"),
    (lambda: Scorer(sync_timeout=float("inf"), embedder="projection"), r"Scorer\(sync_timeout=inf\)"),
    (lambda: frechet.write_report(np.zeros((3, 5)), np.zeros((3, 5)), gallery_size=-1),
     r"gallery_size=-1 is not valid"),
    (lambda: frechet.write_report(np.zeros((3, 5)), np.zeros((3, 5)), sanity_levels=1),
     r"sanity_levels=1 is not valid"),
])
def test_the_functions_own_numeric_keywords_are_checked_before_any_work(projection, call, message):
    calls = projection.CALLS
    with pytest.raises(ConfigError, match=message):
        call()
    assert projection.CALLS == calls
