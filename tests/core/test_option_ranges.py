"""A metric option whose value no input or memory could serve is refused in one line before any item is embedded,
never an allocation that kills the process or a raw allocator error after the work."""

import numpy as np
import pytest

import frechet
from frechet.errors import ConfigError, InputError
from frechet.metrics.fd_infinity import subset_sizes
from frechet.metrics.mind import mind


def test_more_grid_points_than_samples_is_refused_without_building_the_grid():
    with pytest.raises(InputError, match=r"at most 30 distinct subset sizes for 30 samples, not 1000000000"):
        subset_sizes(30, points=10**9)
    assert list(subset_sizes(30, points=30, start=0.5)) == list(range(15, 31))  # as many points as samples: allowed


def test_mind_directions_beyond_memory_are_refused_naming_the_option():
    rows = np.random.default_rng(0).standard_normal((10, 4))
    with pytest.raises(ConfigError, match=r"mind_directions\W+1000000000000\W* at d = 4 needs 48.0 TB for its "
                                          r"directions, more than the .* of memory available"):
        mind(rows, rows, directions=10**12)


@pytest.mark.parametrize("metric, option, message", [
    ("fd-inf", {"infinity_points": 10**9}, "too few for subsets of 1000000000 distinct sizes"),
    ("mind", {"mind_directions": 10**12}, "needs 72.0 TB for its directions"),
])
def test_the_run_refuses_them_before_embedding_anything(projection, metric, option, message):
    rng = np.random.default_rng(1)
    calls = projection.CALLS
    with pytest.raises(ConfigError, match=message):
        frechet.compute(rng.standard_normal((30, 5)), rng.standard_normal((30, 5)), embedder="projection",
                        metrics=[metric], metric_options=option, progress=False)
    assert projection.CALLS == calls
