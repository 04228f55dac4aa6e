"""The on-disk cache of the analysis' stages: a stage whose inputs did not change is read back.

Each stage's key is a hash of everything it reads (the data, the rows' model space, the
errors) and of its settings, chained: a changed ``alpha`` gives the search, the descriptions
and the diagnoses new keys, while the neighbour graph (which does not read it) is read back.
Entries are ``.npy`` arrays (``allow_pickle=False``) and JSON, written atomically; a pickle
is never read. A cache that cannot be read or written only costs time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .files import replace_atomically
from .types import Contrast, GroupShare, Region
from .rules import Condition

__all__ = ["CACHE_VERSION", "StageCache", "column_digests", "frame_digest", "digest"]

CACHE_VERSION = 13
"""Part of every key: bumped when a stage's code would give different output for the same
inputs, so stale entries are never read. 2: the approximate neighbour graph runs on one
thread (a different graph above 50,000 rows), the cluster and ellipsoid finders, the
arrangement and the band descriptions. 3: exact neighbours up to 200,000 rows (was 50,000),
compactness and the twins' typical distance on one seeded sample of rows. 4: the error
direction fitted on at most 20,000 discovery rows. 5: clusters are found and fitted on all
rows' positions, not the discovery half's. 6: two-condition slices, and a hotter part tested
by Fisher's test with Benjamini-Hochberg over a region's parts. 7: fitted tails, and the
arrangement's ladders and twins. 8: clusters tested on all their rows, and twins given up
for a region that falls judged again. 9: clusters weigh one test together in
Benjamini-Hochberg's family. 10: a cluster's parts that err no more than its rest are pieces
of it. 11: the ``check_model`` diagnosis. 12: whether a cluster's rows outside other
regions err is read on all of them, not only the held-out ones. 13: a region's contrasts
below Cohen's small effect are left out."""


def digest(*parts) -> str:
    """A short hash of arrays (their bytes, dtype and shape) and JSON-able settings.

    An object array (labels of any type) is hashed by pandas' ``hash_array``, which reads
    each value's text: a million labels in a tenth of a second, where JSON took seconds.
    """
    hasher = hashlib.sha256(str(CACHE_VERSION).encode())
    for part in parts:
        if isinstance(part, np.ndarray):
            array = np.ascontiguousarray(part)
            hasher.update(f"{array.dtype}{array.shape}".encode())
            hasher.update(array.view(np.uint8).reshape(-1) if array.dtype != object
                          else pd.util.hash_array(array.reshape(-1)).view(np.uint8))
        else:
            hasher.update(json.dumps(part, sort_keys=True, default=str).encode())
    return hasher.hexdigest()[:32]


def column_digests(frame: pd.DataFrame) -> dict[str, str]:
    """A hash of each column's values, name and dtype, so that stages reading different
    columns are keyed on theirs while every column is hashed once."""
    return {str(name): digest(pd.util.hash_pandas_object(frame[name], index=False).to_numpy(),
                              str(name), str(frame[name].dtype))
            for name in frame.columns}


def frame_digest(frame: pd.DataFrame, columns: dict[str, str] | None = None) -> str:
    """A hash of a table's values, column names and dtypes (row order matters);
    ``columns`` are its :func:`column_digests` when already computed."""
    columns = column_digests(frame) if columns is None else columns
    return digest(len(frame), [columns[str(name)] for name in frame.columns])


class StageCache:
    """Arrays and JSON documents under ``folder/stages``, by stage name and key."""

    def __init__(self, folder):
        self.folder = Path(folder) / "stages"

    def _path(self, stage: str, key: str, suffix: str) -> Path:
        return self.folder / f"{stage}-{key}{suffix}"

    def load_arrays(self, stage: str, key: str, names: tuple[str, ...]
                    ) -> dict[str, np.ndarray] | None:
        """The named arrays of an entry, or None when any is missing or unreadable."""
        try:
            paths = {name: self._path(stage, key, f".{name}.npy") for name in names}
            if not all(path.is_file() for path in paths.values()):
                return None
            return {name: np.load(path, allow_pickle=False) for name, path in paths.items()}
        except (OSError, ValueError):
            return None

    def save_arrays(self, stage: str, key: str, arrays: dict[str, np.ndarray]) -> None:
        for name, array in arrays.items():
            self._write(self._path(stage, key, f".{name}.npy"),
                        lambda handle, array=array: np.save(handle, array, allow_pickle=False))

    def load_json(self, stage: str, key: str):
        path = self._path(stage, key, ".json")
        try:
            return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        except (OSError, ValueError):
            return None

    def save_json(self, stage: str, key: str, document) -> None:
        try:  # NaN and Infinity as Python's json writes them (a flat curve needs infinite
            # rows); only this module reads these files back
            text = json.dumps(document, default=_plain)
        except (TypeError, ValueError):  # a value JSON cannot hold: not cached
            return
        self._write(self._path(stage, key, ".json"),
                    lambda handle: handle.write(text.encode("utf-8")))

    def _write(self, path: Path, write) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)

            def to_file(temporary: Path) -> None:
                with open(temporary, "wb") as handle:  # a handle: np.save would add ".npy"
                    write(handle)

            replace_atomically(path, to_file)
        except OSError:
            pass  # a read-only cache only costs speed, never the analysis

    # --- diagnoses and regions --------------------------------------------------------------

    def save_diagnoses(self, stage: str, key: str, diagnoses: dict) -> None:
        self.save_json(stage, key, [dataclasses.asdict(d) for d in diagnoses.values()])

    def load_diagnoses(self, stage: str, key: str) -> dict | None:
        from .diagnose import Diagnosis  # diagnose imports the region search, which is heavy

        document = self.load_json(stage, key)
        if document is None:
            return None
        tupled = {"interval", "curve_params"}
        return {fields["region"]: Diagnosis(**{
            **{name: tuple(value) if name in tupled and value is not None else value
               for name, value in fields.items()},
            "curve": [tuple(point) for point in fields["curve"]]}) for fields in document}


    def save_regions(self, stage: str, key: str, regions: list[Region], extra: dict) -> None:
        """Regions as JSON (their rows as one array beside it) with ``extra`` fields."""
        rows = np.concatenate([r.rows for r in regions]).astype(np.int64) if regions else \
            np.empty(0, np.int64)
        fields = [{f.name: getattr(r, f.name) for f in dataclasses.fields(r) if f.name != "rows"}
                  for r in regions]
        self.save_arrays(stage, key, {"rows": rows})
        self.save_json(stage, key, {"regions": fields, **extra})

    def load_regions(self, stage: str, key: str) -> tuple[list[Region], dict] | None:
        document = self.load_json(stage, key)
        arrays = self.load_arrays(stage, key, ("rows",))
        if document is None or arrays is None:
            return None
        regions, start = [], 0
        for fields in document.pop("regions"):
            rows = arrays["rows"][start:start + fields["size"]]
            start += fields["size"]
            regions.append(_region(fields, rows))
        return regions, document


def _region(fields: dict, rows: np.ndarray) -> Region:
    """A Region from its JSON fields: tuples and nested dataclasses rebuilt."""
    return Region(**{
        **fields, "rows": rows,
        "heldout_interval": tuple(fields["heldout_interval"]),
        "rule_conditions": tuple(Condition(**c) for c in fields["rule_conditions"]),
        "contrasts": [Contrast(**c) for c in fields["contrasts"]],
        "group_shares": [GroupShare(**g) for g in fields["group_shares"]],
        "confusions": [tuple(c) for c in fields["confusions"]],
        "words": tuple(fields["words"])})


def _plain(value):
    """JSON for numpy scalars and arrays and for the dataclasses inside a Region."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")
