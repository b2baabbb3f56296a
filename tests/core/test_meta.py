"""The meta schema: statistics and shard records are read within size and nesting limits, their known keys have
their types, a newer format is refused by version, and a user's own keys survive a round trip."""

import json

import numpy as np
import pytest

from frechet import FeatureStats
from frechet.errors import OutputError, StatsFileError
from frechet.meta import MAX_DEPTH, STATS_SCHEMA, MetaError, NewerFormatError, check_meta, nesting_depth, parse_json


def test_nesting_is_measured_before_parsing_and_brackets_inside_strings_do_not_count():
    assert nesting_depth('{"a": [1, {"b": "[[[[[[[["}]}') == 3
    assert nesting_depth('"\\"[[[" ') == 0
    with pytest.raises(MetaError, match="nested 100000 levels deep"):
        parse_json("[" * 100_000 + "]" * 100_000)  # json.loads alone raises RecursionError here
    assert parse_json("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


def test_oversized_or_invalid_json_is_a_meta_error():
    with pytest.raises(MetaError, match="not valid JSON"):
        parse_json('{"a": ')
    with pytest.raises(MetaError, match="more than the"):
        parse_json(" " * (64 << 20) + "{}")


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"output": ["x"]}, "'meta' key 'output' must be a text, got [\"x\"]"),
        ({"n_items": -3}, "'meta' key 'n_items' must be a whole number ≥ 0 or null, got -3"),
        ({"skipped": "a.png"}, "'meta' key 'skipped' must be a list of texts"),
        ({"format": "frechet-cache-shard"}, "'meta' says format 'frechet-cache-shard', not 'frechet-stats'"),
        ([1, 2], "'meta' must be a JSON object, not list"),
    ],
)
def test_known_keys_must_have_their_types(meta, message):
    with pytest.raises(MetaError) as raised:
        check_meta(meta, STATS_SCHEMA, format="frechet-stats", version=1)
    assert message in str(raised.value)


def test_a_newer_format_version_is_refused_naming_both_versions():
    with pytest.raises(NewerFormatError, match="format version 2; this frechet .* reads up to version 1"):
        check_meta({"format_version": 2}, STATS_SCHEMA, format="frechet-stats", version=1)


def test_a_users_own_meta_keys_round_trip_and_a_meta_frechet_could_not_read_back_is_never_written(tmp_path):
    stats = FeatureStats.from_features(np.random.default_rng(0).standard_normal((20, 3)))
    stats.save(tmp_path / "s.npz", meta={"dataset": {"name": "ffhq", "split": ["train"]}})
    assert FeatureStats.load(tmp_path / "s.npz").meta["dataset"] == {"name": "ffhq", "split": ["train"]}
    with pytest.raises(OutputError, match="'meta' key 'output' must be a text"):
        stats.save(tmp_path / "bad.npz", meta={"output": 3})
    deep = json.loads("[" * 40 + "]" * 40)
    with pytest.raises(OutputError, match="nested 41 levels deep"):
        stats.save(tmp_path / "bad.npz", meta={"deep": deep})
    assert not (tmp_path / "bad.npz").exists()


def test_a_statistics_file_with_a_hostile_meta_is_a_stats_file_error_naming_it(tmp_path):
    path = tmp_path / "s.npz"
    np.savez(path, mu=np.zeros(2), sigma=np.eye(2), meta=np.asarray("{" * 50_000))
    with pytest.raises(StatsFileError, match=rf"^{path}: 'meta' is nested 50000 levels deep"):
        FeatureStats.load(path)
