"""The feature cache: re-runs skip embedding, keys follow content and embedder id, kills resume exactly, concurrent
runs agree, bad items are remembered, and `frechet cache ls|clear` show and remove entries."""

import json
import logging
import os
import re
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import frechet
from frechet.cache import SHARDS_FOLDER, FeatureCache, digests, shard_digest
from frechet.cli import main
from frechet.errors import InputError


def _stats(path, *, embedder="projection", **options):
    options = {"shard_size": 50, "batch_size": 20, "progress": False, **options}
    return frechet.compute_stats(path, embedder=embedder, **options)


def _identical(a, b):
    return a.n == b.n and np.array_equal(a.mean, b.mean) and np.array_equal(a.cov, b.cov)


def _shard_files(folder):
    return sorted(folder.glob(f"{SHARDS_FOLDER}/*/*.npz"))


def test_a_second_run_on_the_same_inputs_reads_the_cache_and_embeds_nothing(projection, rows_file):
    first = _stats(rows_file)
    assert projection.CALLS == 8 * 3  # 8 shards of 50 items, batches of 20, 20, 10
    second = _stats(rows_file)
    assert projection.CALLS == 8 * 3
    assert _identical(first, second)
    assert _identical(first, _stats(rows_file, cache=False))
    features = projection.project(np.load(rows_file))
    np.testing.assert_allclose(first.cov, np.cov(features.astype(np.float64), rowvar=False), rtol=1e-10, atol=1e-12)


def test_the_cache_is_keyed_on_the_embedder_id_so_changing_an_option_misses(projection, rows_file):
    _stats(rows_file)
    before = projection.CALLS
    other = _stats(rows_file, embedder_options={"seed": "1"})
    assert projection.CALLS == 2 * before
    assert not _identical(other, _stats(rows_file))
    assert projection.CALLS == 2 * before  # both are cached now
    _stats(rows_file, embedder_options={"delay": "0"})  # an option that does not change the numbers keeps the id
    assert projection.CALLS == 2 * before
    embedders = {entry.embedder for entry in FeatureCache().entries()}
    assert embedders == {"projection(dims=6,seed=0)", "projection(dims=6,seed=1)"}


def test_changing_one_item_recomputes_only_its_shard(projection, rows_file):
    _stats(rows_file)
    before = projection.CALLS
    matrix = np.load(rows_file)
    matrix[123, 0] += 1
    np.save(rows_file, matrix)
    changed = _stats(rows_file)
    assert projection.CALLS - before == 3  # shard 2 (items 100-149) only
    assert _identical(changed, _stats(rows_file, cache=False))


def test_a_shard_that_lacks_needed_features_is_recomputed_and_then_serves_both_kinds(projection, rows_file, tmp_path):
    other = tmp_path / "other.npy"
    np.save(other, np.random.default_rng(1).standard_normal((200, 8)))
    options = {"embedder": "projection", "shard_size": 50, "batch_size": 20, "progress": False}
    fd_only = frechet.compute(rows_file, other, metrics=["fd"], **options)
    calls = projection.CALLS
    with_is = frechet.compute(rows_file, other, metrics=["fd", "is"], **options)  # IS needs the fake side's logits
    assert projection.CALLS - calls == 4 * 3  # the 4 shards of the fake side, again
    calls = projection.CALLS
    again = frechet.compute(rows_file, other, metrics=["fd", "is"], **options)
    fd_again = frechet.compute(rows_file, other, metrics=["fd"], **options)
    assert projection.CALLS == calls
    assert with_is["fd"] == fd_only["fd"] == again["fd"] == fd_again["fd"]
    assert with_is["is_mean"] == again["is_mean"]


def test_skipped_items_are_remembered_and_reported_the_same_from_the_cache(projection, tmp_path):
    path = tmp_path / "holes.npy"
    matrix = np.random.default_rng(2).standard_normal((120, 8))
    matrix[[7, 64, 65]] = np.nan
    np.save(path, matrix)
    first = frechet.compute(path, path, embedder="projection", shard_size=50, skip_bad=True, progress=False)
    calls = projection.CALLS
    second = frechet.compute(path, path, embedder="projection", shard_size=50, skip_bad=True, progress=False)
    assert projection.CALLS == calls
    expected = [f"{path}[{index}]" for index in (7, 64, 65)]  # the same file on both sides is read once
    assert first["skipped"] == second["skipped"] == expected
    assert first["n_real"] == second["n_real"] == 117
    with pytest.raises(InputError, match="NaN.*skip_bad=True"):
        frechet.compute(path, path, embedder="projection", shard_size=50, progress=False)


def test_a_hostile_file_digest_index_is_ignored_and_the_files_are_hashed_again(projection, tmp_path):
    folder = tmp_path / "rows"
    folder.mkdir()
    for index, row in enumerate(np.random.default_rng(6).standard_normal((12, 4))):
        np.save(folder / f"{index:03d}.npy", row)
    first = _stats(folder, shard_size=4)
    for index_file in (FeatureCache().root / "file-digests-v1").glob("*.json"):
        index_file.write_text('{"folder": ' + "[" * 200_000)  # the JSON parser alone would overflow its stack
    assert _identical(_stats(folder, shard_size=4), first)


def test_file_items_are_hashed_once_and_again_only_when_they_change(projection, tmp_path, monkeypatch):
    folder = tmp_path / "rows"
    folder.mkdir()
    for index, row in enumerate(np.random.default_rng(3).standard_normal((30, 4))):
        np.save(folder / f"{index:03d}.npy", row)
    hashed = []
    real_hash = digests._hash_file
    monkeypatch.setattr(digests, "_hash_file", lambda path: hashed.append(path.name) or real_hash(path))
    first = _stats(folder, shard_size=10)
    assert len(hashed) == 30
    calls = projection.CALLS
    assert _identical(_stats(folder, shard_size=10), first)
    assert len(hashed) == 30 and projection.CALLS == calls  # (size, mtime, ctime, inode) unchanged: no reading
    np.save(folder / "017.npy", np.zeros(4))
    changed = _stats(folder, shard_size=10)
    assert hashed[30:] == ["017.npy"] and projection.CALLS - calls == 1  # one shard of 10 items, one batch
    assert _identical(changed, _stats(folder, shard_size=10, cache=False))


def test_a_damaged_shard_is_reported_and_recomputed(projection, rows_file, caplog):
    first = _stats(rows_file)
    shard = _shard_files(FeatureCache().root)[3]
    shard.write_bytes(shard.read_bytes()[:100])
    calls = projection.CALLS
    with caplog.at_level(logging.WARNING, logger="frechet"):
        assert _identical(_stats(rows_file), first)
    assert projection.CALLS - calls == 3
    assert f"{shard} is unreadable" in caplog.text


def test_a_cache_that_cannot_be_written_is_reported_and_the_run_goes_on(projection, rows_file, tmp_path, caplog):
    blocked = tmp_path / "read-only"
    blocked.mkdir()
    (blocked / SHARDS_FOLDER).write_text("a file where the shard folders should be")
    with caplog.at_level(logging.WARNING, logger="frechet"):
        assert _identical(_stats(rows_file, cache_dir=blocked), _stats(rows_file, cache=False))
    assert caplog.text.count("feature cache not written, continuing without it") == 1


def test_in_memory_inputs_and_no_cache_runs_leave_the_cache_empty(projection, rows_file):
    _stats(np.load(rows_file))
    _stats(rows_file, cache=False)
    assert not FeatureCache().root.exists() or not _shard_files(FeatureCache().root)


def test_cache_ls_lists_entries_and_clear_removes_what_the_filters_select(projection, rows_file, tmp_path, capsys):
    folder = tmp_path / "cache"
    _stats(rows_file, cache_dir=folder)
    _stats(rows_file, cache_dir=folder, embedder_options={"seed": "1"})
    stale = _shard_files(folder)[0].parent / ".left-by-a-killed-run.npz.tmp"
    stale.write_bytes(b"partial")
    os.utime(stale, (time.time() - 7200,) * 2)
    assert main(["cache", "ls", "--cache-dir", str(folder), "--json"]) == 0
    entries = json.loads(capsys.readouterr().out.splitlines()[-1])["entries"]
    assert sorted(entry["embedder"] for entry in entries) == ["projection(dims=6,seed=0)", "projection(dims=6,seed=1)"]
    assert {entry["input"] for entry in entries} == {str(rows_file)}
    assert all(entry["shards"] == 8 and entry["items"] == 400 and entry["bytes"] > 0 for entry in entries)
    assert entries[0]["outputs"] == {"projected": ["stats"]}
    assert main(["cache", "clear", "--cache-dir", str(folder), "--older-than", "1d"]) == 0
    assert len(_shard_files(folder)) == 16 and not stale.exists()
    assert main(["cache", "clear", "--cache-dir", str(folder), "--embedder", "seed=1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["files"] == 8
    assert {entry.embedder for entry in FeatureCache(folder).entries()} == {"projection(dims=6,seed=0)"}
    assert main(["cache", "clear", "--cache-dir", str(folder)]) == 0
    assert FeatureCache(folder).entries() == []


def test_cache_ls_reports_the_total_that_clear_then_frees_in_the_same_units(projection, rows_file, tmp_path,
                                                                           capsys):
    folder, rows = tmp_path / "cache", tmp_path / "rows"
    rows.mkdir()
    for index, row in enumerate(np.random.default_rng(7).standard_normal((30, 4))):
        np.save(rows / f"{index:03d}.npy", row)
    _stats(rows, cache_dir=folder, shard_size=10)  # shards and a file-digest index
    _stats(rows_file, cache_dir=folder)
    shard = _shard_files(folder)[0]
    shard.with_name("f" * 64 + ".npz").write_bytes(shard.read_bytes()[:300])  # frechet's, but unusable
    (folder / "notes.txt").write_text("the team's notes, never frechet's to count or remove")
    made_by_frechet = sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) - len(
        "the team's notes, never frechet's to count or remove")
    assert main(["cache", "ls", "--cache-dir", str(folder), "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])["bytes"] == made_by_frechet
    assert main(["cache", "ls", "--cache-dir", str(folder)]) == 0
    listed = re.search(r"2 cached inputs, (\d+\.\d KB) in all", capsys.readouterr().out)
    assert main(["cache", "clear", "--cache-dir", str(folder)]) == 0
    removed = re.search(r"removed \d+ files \((\d+\.\d KB)\)", capsys.readouterr().out)
    assert listed and removed and listed.group(1) == removed.group(1)
    assert [path.name for path in folder.rglob("*") if path.is_file()] == ["notes.txt"]


def test_a_run_killed_mid_way_resumes_from_its_finished_shards_to_the_same_result(projection, rows_file, tmp_path):
    args = ["stats", str(rows_file), "--embedder", "projection", "--shard-size", "40", "--batch-size", "20", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "uninterrupted.npz"), "--no-cache"]) == 0
    env = {**os.environ, "PYTHONPATH": str(projection.site)}
    slow = subprocess.Popen(
        [sys.executable, "-m", "frechet", *args, "-o", str(tmp_path / "killed.npz"), "--embedder-option", "delay=0.25"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    cache_root = FeatureCache().root
    deadline = time.monotonic() + 60
    while len(_shard_files(cache_root)) < 3 and time.monotonic() < deadline and slow.poll() is None:
        time.sleep(0.02)
    slow.send_signal(signal.SIGKILL)
    slow.wait()
    finished = len(_shard_files(cache_root))
    assert 3 <= finished < 10 and not (tmp_path / "killed.npz").exists()
    calls_before = projection.CALLS
    assert main([*args, "-o", str(tmp_path / "resumed.npz")]) == 0  # resumed in this process
    assert projection.CALLS - calls_before == 2 * (10 - finished)  # only the unfinished shards, 2 batches each
    assert _identical(frechet.load_stats(tmp_path / "resumed.npz"), frechet.load_stats(tmp_path / "uninterrupted.npz"))


def test_two_concurrent_runs_on_the_same_inputs_agree_and_leave_a_valid_cache(projection, rows_file, tmp_path):
    args = ["stats", str(rows_file), "--embedder", "projection", "--shard-size", "40", "--batch-size", "20", "--quiet"]
    assert main([*args, "-o", str(tmp_path / "alone.npz"), "--no-cache"]) == 0  # alone, in this process
    env = {**os.environ, "PYTHONPATH": str(projection.site)}
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "frechet", *args, "-o", str(tmp_path / f"run{number}.npz"),
             "--embedder-option", "delay=0.02"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        for number in (1, 2)
    ]
    for run in runs:
        assert run.wait(timeout=120) == 0, run.stderr.read()
    calls = projection.CALLS
    assert main([*args, "-o", str(tmp_path / "after.npz")]) == 0
    assert projection.CALLS == calls
    alone = frechet.load_stats(tmp_path / "alone.npz")
    for name in ("run1", "run2", "after"):
        assert _identical(frechet.load_stats(tmp_path / f"{name}.npz"), alone)
    assert not list(FeatureCache().root.glob(f"{SHARDS_FOLDER}/*/.*.tmp"))


def _repack(path, change):
    """Rewrite the shard at ``path`` as a valid archive after ``change(arrays, meta)``; returns the new meta."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(str(arrays["meta"]))
    change(arrays, meta)
    arrays["meta"] = np.asarray(json.dumps(meta, sort_keys=True))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    return meta


@pytest.mark.parametrize("edit", ["count", "mean", "skipped"])
def test_a_shard_repacked_by_hand_fails_its_digest_is_reported_once_and_recomputed(projection, rows_file, caplog, edit):
    first = _stats(rows_file)
    shard = _shard_files(FeatureCache().root)[2]

    def change(arrays, meta):
        if edit == "count":
            arrays["0.n"] = np.asarray(int(arrays["0.n"]) * 2, dtype=np.int64)
        elif edit == "mean":
            arrays["0.mean"] = arrays["0.mean"] + 10.0
        else:
            meta["skipped"], meta["n_good"] = [[0, "made up"]], meta["n_good"] - 1

    _repack(shard, change)
    calls = projection.CALLS
    with caplog.at_level(logging.WARNING, logger="frechet"):
        again = _stats(rows_file)
    assert _identical(again, first) and projection.CALLS - calls == 3  # one shard of 50 items, batches of 20
    assert caplog.text.count(f"{shard} is unreadable (it fails its integrity digest") == 1
    calls = projection.CALLS
    assert _identical(_stats(rows_file), first) and projection.CALLS == calls  # rewritten whole


@pytest.mark.parametrize("edit", ["negative", "more-than-items"])
def test_a_shard_whose_counts_cannot_be_true_is_never_merged_even_with_a_matching_digest(
    projection, rows_file, caplog, edit
):
    first = _stats(rows_file)
    shard = _shard_files(FeatureCache().root)[0]

    def change(arrays, meta):
        if edit == "negative":
            arrays["0.n"] = np.asarray(-50, dtype=np.int64)
        else:
            meta["n_good"] = meta["n_good"] + 7
        meta["digest"] = shard_digest(arrays, meta)  # a forger who knows the format

    _repack(shard, change)
    with caplog.at_level(logging.WARNING, logger="frechet"):
        assert _identical(_stats(rows_file), first)
    assert f"{shard} is unreadable" in caplog.text


def test_a_shard_record_nested_deeply_or_of_the_wrong_types_never_breaks_a_run_or_the_cache_commands(
    projection, rows_file, tmp_path, capsys
):
    folder = tmp_path / "cache"
    first = _stats(rows_file, cache_dir=folder)
    deep, typed = _shard_files(folder)[:2]
    _repack(deep, lambda arrays, meta: meta.update(label=json.loads("[" * 900 + "]" * 900)))
    with np.load(deep) as npz:  # the record itself, nested 100,000 deep: json.loads alone would overflow the stack
        arrays = {key: npz[key] for key in npz.files}
    arrays["meta"] = np.asarray("[" * 100_000 + "]" * 100_000)
    with open(deep, "wb") as handle:
        np.savez(handle, **arrays)
    _repack(typed, lambda arrays, meta: meta.update(embedder=["not", "a", "name"], outputs=[{"name": ["x"]}]))
    assert _identical(_stats(rows_file, cache_dir=folder), first)
    assert main(["cache", "ls", "--cache-dir", str(folder), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert sum(entry["shards"] for entry in listing["entries"]) == 8  # both were rewritten by the run
    assert main(["cache", "clear", "--cache-dir", str(folder)]) == 0
    assert _shard_files(folder) == []


def test_cache_ls_lists_and_clear_removes_only_the_unusable_files_frechet_made(projection, rows_file, tmp_path,
                                                                              capsys):
    folder = tmp_path / "cache"
    _stats(rows_file, cache_dir=folder)
    shard = _shard_files(folder)[0]
    damaged = shard.with_name("f" * 64 + ".npz")
    damaged.write_bytes(shard.read_bytes()[:200])  # frechet's by name and header, but cut short
    older = folder / "shards-v1" / ("a" * 16) / ("b" * 64 + ".npz")
    older.parent.mkdir(parents=True)
    older.write_bytes(shard.read_bytes())
    notes = folder / "notes.txt"
    notes.write_text("the team's notes")
    lookalike = shard.with_name("c" * 64 + ".npz")
    lookalike.write_text("not a zip, though named like a shard")
    mine = folder / SHARDS_FOLDER / "keep.json"
    mine.write_text("{}")
    assert main(["cache", "ls", "--cache-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "3 files frechet made but cannot use any more" in out and "`frechet cache clear` removes them" in out
    assert "2 files frechet did not make, left alone" in out and str(notes) in out
    assert main(["cache", "ls", "--cache-dir", str(folder), "--json"]) == 0
    listing = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert sorted(listing["unusable"]) == sorted(map(str, [damaged, older, lookalike]))
    assert sorted(listing["foreign"]) == sorted(map(str, [mine, notes]))
    assert main(["cache", "clear", "--cache-dir", str(folder), "--older-than", "1d"]) == 0
    assert not damaged.exists() and not lookalike.exists() and older.exists()  # unusable shards go with any clear
    assert "left 2 files frechet did not make" in capsys.readouterr().out
    assert main(["cache", "clear", "--cache-dir", str(folder)]) == 0
    assert sorted(path for path in folder.rglob("*") if path.is_file()) == sorted([mine, notes])


@pytest.mark.parametrize("where", ["is-a-file", "under-a-file"])
def test_a_cache_folder_that_cannot_exist_is_one_warning_and_the_run_goes_on(projection, rows_file, tmp_path, caplog,
                                                                             where):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    cache_dir = blocker if where == "is-a-file" else blocker / "sub" / "cache"
    with caplog.at_level(logging.WARNING, logger="frechet"):
        result = frechet.compute(rows_file, rows_file, embedder="projection", cache_dir=cache_dir, progress=False)
    assert result["fd"] == frechet.compute(rows_file, rows_file, embedder="projection", cache=False,
                                           progress=False)["fd"]
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert warnings == [f"feature cache not used, continuing without it: {cache_dir}: the cache folder "
                        + ("is a file" if where == "is-a-file" else f"is under {blocker}, which is a file")
                        + "; pass another cache_dir='DIR'"]
    assert blocker.read_text() == "a file"
