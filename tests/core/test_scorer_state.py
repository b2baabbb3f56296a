"""Scorer checkpoints: the state is tensors and plain values that ``torch.load``'s default (weights_only=True) reads
back, resuming gives the numbers of an uninterrupted run, and a state from other settings or a damaged one is refused
in one line saying what differs, before the Scorer changes."""

import copy

import numpy as np
import pytest
import torch

import frechet
from frechet.errors import ConfigError, InputError
from frechet.scorer import Scorer
from frechet.scorer_state import VERSION

#: fd keeps running sums and kid keeps rows of the same output: both kinds of entry are in the state.
METRICS = ["fd", "kid"]
OPTIONS = {"kid_subset_size": 8, "kid_subsets": 20}


def _scorer(metrics=METRICS):
    return Scorer(metrics=metrics, embedder="projection", metric_options=OPTIONS if "kid" in metrics else {})


def _fed(rng_seed=0):
    rng = np.random.default_rng(rng_seed)
    scorer = _scorer()
    scorer.update(rng.standard_normal((30, 5)), real=True)
    scorer.update(rng.standard_normal((20, 5)) + 0.2)
    return scorer


def test_a_saved_state_loads_with_torch_loads_default_and_resumes_exactly(projection, tmp_path):
    rng = np.random.default_rng(1)
    real, first, second = rng.standard_normal((30, 5)), rng.standard_normal((12, 5)), rng.standard_normal((9, 5))
    scorer = _scorer()
    scorer.update(real, real=True)
    scorer.update(first)
    torch.save(scorer.state_dict(), tmp_path / "state.pt")
    loaded = torch.load(tmp_path / "state.pt")  # the default: weights_only=True
    assert loaded["version"] == VERSION and loaded["metrics"] == METRICS
    resumed = _scorer()
    resumed.load_state_dict(loaded)
    resumed.update(second)
    whole = frechet.compute(real, np.concatenate([first, second]), metrics=METRICS, embedder="projection",
                            metric_options=OPTIONS, progress=False)
    result = resumed.compute()
    assert result["fd"] == pytest.approx(whole["fd"], rel=1e-12)
    assert result["kid"] == pytest.approx(whole["kid"], rel=1e-9, abs=1e-12)
    assert result["n_fake"] == 21 and result["n_real"] == 30


def test_an_empty_scorers_state_round_trips(projection, tmp_path):
    torch.save(_scorer().state_dict(), tmp_path / "state.pt")
    resumed = _scorer()
    resumed.load_state_dict(torch.load(tmp_path / "state.pt"))
    with pytest.raises(InputError, match="no real items yet"):
        resumed.compute()


def test_a_state_without_a_version_from_older_frechet_is_read(projection):
    """Older states held NumPy arrays (a 0-d int64 count) and no version or metrics."""
    scorer = _fed()
    state = scorer.state_dict()
    old = {"embedder": state["embedder"], "output": state["output"]}
    for label in ("real", "fake"):
        side = state[label]
        old[label] = {"items": side["items"],
                      "stats": {output: {key: np.asarray(value) if key == "n" else value.numpy()
                                         for key, value in entry.items()} for output, entry in side["stats"].items()},
                      "features": {output: rows.numpy() for output, rows in side["features"].items()}}
    resumed = _scorer()
    resumed.load_state_dict(old)
    assert resumed.compute()["fd"] == scorer.compute()["fd"]


def _set(path, value):
    def change(state):
        *parents, last = path
        for key in parents:
            state = state[key]
        if value is _DELETE:
            del state[last]
        else:
            state[last] = value(state[last]) if callable(value) else value
    return change


_DELETE = object()
_OUT = "projected"

MALFORMED = {
    "negative items": (_set(("fake", "items"), -3), InputError,
                       r"fake side: 'items' is -3, expected a whole number ≥ 0"),
    "negative count": (_set(("fake", "stats", _OUT, "n"), -1), InputError, r"stats of 'projected': 'n' is -1"),
    "items as a float": (_set(("real", "items"), 30.0), InputError, r"real side: 'items' is 30.0"),
    "rows and count disagree": (_set(("fake", "features", _OUT), lambda rows: rows[:15]), InputError,
                                r"statistics of 'projected' count 20 rows but 15 feature rows are held"),
    "rows held for no items": (_set(("fake", "items"), 0), InputError, r"fake side: 0 items fed but 20 rows held"),
    "missing side": (_set(("fake",), _DELETE), InputError, r"Scorer state: missing 'fake' entries"),
    "extra entry": (_set(("extra",), 1), InputError, r"Scorer state: unexpected 'extra' entries"),
    "missing side entry": (_set(("real", "items"), _DELETE), InputError, r"real side: missing 'items' entries"),
    "extra output kept": (_set(("fake", "stats", "logits"), {"n": 0}), ConfigError,
                          r"fake side: keeps stats of \['logits', 'projected'\], but this Scorer's metrics"),
    "features as integers": (_set(("fake", "features", _OUT), lambda rows: rows.to(torch.int64)), InputError,
                             r"features of 'projected': got torch.int64, expected a float32 or float64 tensor"),
    "sums in float32": (_set(("real", "stats", _OUT, "m2"), lambda m2: m2.float()), InputError,
                        r"stats of 'projected': 'm2': got torch.float32, expected a float64 tensor"),
    "a NumPy array in a current state": (_set(("fake", "features", _OUT), lambda rows: rows.numpy()), InputError,
                                         r"features of 'projected': got float32, expected a float32 or float64 tensor"),
    "mean of the wrong width": (_set(("real", "stats", _OUT, "mean"), lambda mean: mean[:4]), InputError,
                                r"'mean' has shape \(4,\), but this Scorer's output is 6 wide"),
    "features of the wrong width": (_set(("fake", "features", _OUT), lambda rows: rows[:, :3]), InputError,
                                    r"features of 'projected': shape \(20, 3\), expected \(rows, 6\)"),
    "NaN in the features": (_set(("fake", "features", _OUT), lambda rows: rows.fill_(float("nan"))), InputError,
                            r"features of 'projected': holds NaN or Inf"),
    "other embedder": (_set(("embedder",), "projection(dims=6,seed=7)"), ConfigError,
                       r"made with embedder projection\(dims=6,seed=7\) \(output projected\), but this Scorer uses "
                       r"projection\(dims=6,seed=0\)"),
    "other metrics": (_set(("metrics",), ["fd"]), ConfigError,
                      r"made for metrics fd, but this Scorer computes fd, kid; build the Scorer with metrics=\['fd'\]"),
    "newer version": (_set(("version",), VERSION + 1), ConfigError,
                      rf"format version {VERSION + 1} was written by a newer frechet \(this one reads up to version "
                      rf"{VERSION}\); upgrade frechet"),
    "version not a number": (_set(("version",), "2"), InputError,
                             r"format version '2' is not a version frechet writes"),
    "side not a dict": (_set(("real",), [1, 2]), InputError, r"real side: got list, expected a dict"),
}


@pytest.mark.parametrize("change, error, message", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_state_is_refused_in_one_line_and_the_scorer_is_unchanged(projection, change, error, message):
    scorer = _fed()
    state = copy.deepcopy(scorer.state_dict())
    change(state)
    target = _fed(rng_seed=5)
    before = target.compute()
    with pytest.raises(error, match=message) as raised:
        target.load_state_dict(state)
    assert "\n" not in str(raised.value) and type(raised.value) is error
    assert target.compute().as_dict() == before.as_dict()


def test_a_state_of_an_fd_scorer_into_an_fd_kid_scorer_names_both_metric_lists(projection):
    fd_only = _scorer(["fd"])
    fd_only.update(np.random.default_rng(2).standard_normal((10, 5)))
    with pytest.raises(ConfigError, match=r"made for metrics fd, but this Scorer computes fd, kid"):
        _scorer().load_state_dict(fd_only.state_dict())


def test_something_that_is_not_a_state_is_refused(projection):
    with pytest.raises(InputError, match=r"Scorer state: got list, expected the dict Scorer.state_dict\(\) returns"):
        _scorer().load_state_dict([])
