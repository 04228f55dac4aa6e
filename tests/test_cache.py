"""The stage cache: a second run reads every unchanged stage back, and a changed setting
recomputes only what depends on it."""

from __future__ import annotations

import dataclasses

import numpy as np

import explorer
from explorer.cache import StageCache, digest
from explorer.embed import DeferredModelSpace, input_space


def test_a_second_run_reads_every_stage_back_and_finds_the_same(planted_data, tmp_path):
    run = dict(target=planted_data.target, prediction="prediction", seed=0, cache_dir=tmp_path)
    first = explorer.analyze(planted_data.frame, **run)
    second = explorer.analyze(planted_data.frame, **run)
    assert first.cached == []
    # neighbours are searched on demand at this size: only the stages that read them cache
    assert second.cached == ["map", "regions", "describe", "diagnoses"]
    assert len(first.regions) == len(second.regions) > 0
    for before, after in zip(first.regions, second.regions):
        assert np.array_equal(before.rows, after.rows)
        for field in dataclasses.fields(before):
            if field.name != "rows":
                assert getattr(before, field.name) == getattr(after, field.name), field.name
    assert first.diagnoses == second.diagnoses
    files = {path.suffix for path in (tmp_path / "stages").iterdir()}
    assert files <= {".npy", ".json"}  # never a pickle

    stricter = explorer.analyze(planted_data.frame, **run, alpha=0.01)
    assert stricter.cached == ["map"]  # the search and what follows it re-ran


def test_keys_change_with_any_input_and_a_bad_entry_is_a_miss(tmp_path):
    array = np.arange(6, dtype=np.int64)
    assert digest(array, 0.05) != digest(array, 0.01)
    assert digest(array) != digest(array.astype(np.int32))
    assert digest(array) != digest(array.reshape(2, 3))
    cache = StageCache(tmp_path)
    cache.save_arrays("stage", "key", {"rows": array})
    assert np.array_equal(cache.load_arrays("stage", "key", ("rows",))["rows"], array)
    (tmp_path / "stages" / "stage-key.rows.npy").write_bytes(b"not an array")
    assert cache.load_arrays("stage", "key", ("rows",)) is None
    cache.save_json("stage", "inf", {"rows": float("inf")})  # a flat curve's estimate
    assert cache.load_json("stage", "inf") == {"rows": float("inf")}
    cache.save_json("stage", "object", {"value": object()})  # not JSON: not cached
    assert cache.load_json("stage", "object") is None


def test_a_map_read_back_is_not_encoded_again_and_encodes_new_rows_alike(planted_data,
                                                                        tmp_path):
    run = dict(target=planted_data.target, prediction="prediction", seed=0, cache_dir=tmp_path)
    first = explorer.analyze(planted_data.frame, **run)
    second = explorer.analyze(planted_data.frame, **run)
    assert second.map.from_cache
    assert isinstance(second.map.encoder, DeferredModelSpace)
    assert second.map.encoder.frame is not None  # not fitted: nothing asked for it yet
    assert np.array_equal(first.map.model_space, second.map.model_space)
    assert np.array_equal(input_space(first.map), input_space(second.map))
    new = planted_data.frame.head(40)
    assert np.array_equal(first.map.encoder.transform(new), second.map.encoder.transform(new))


def test_object_labels_are_hashed_by_their_text():
    labels = np.array(["spam", "ham", 3], dtype=object)
    assert digest(labels) == digest(labels.copy())
    assert digest(labels) != digest(labels[::-1].copy())
