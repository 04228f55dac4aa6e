"""Load a labelled table and work out what each column is for.

The schema is decided once, here, so every later stage (model, map, rules, collection list)
agrees on which columns are features, which are reported as groups, and which are ignored and
why. Problems are raised as :class:`~explorer.errors.DataError` with the fix in the message.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, SchemaMismatchError

__all__ = ["Schema", "read_table", "infer_schema", "check_pool"]

MIN_ROWS = 40
"""Fewer rows than this cannot hold a region that a test could confirm."""

MAX_CLASSES = 50
TEXT_MEAN_LENGTH = 40
REGRESSION_MIN_DISTINCT = 20


@dataclass(frozen=True)
class Schema:
    """Which column plays which role; ``ignored`` maps a column to the reason it is left out."""

    target: str
    task: str  # "classification" or "regression"
    classes: tuple = ()
    prediction: str | None = None
    probabilities: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()
    embedding: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    ignored: dict[str, str] = field(default_factory=dict)

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"


def read_table(source, *, what: str = "data") -> pd.DataFrame:
    """Return ``source`` as a DataFrame with a fresh 0..n-1 index.

    ``source`` is a DataFrame or a path to a ``.csv`` or ``.parquet`` file. Row positions in
    every output refer to this order.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
    elif isinstance(source, (str, Path)):
        frame = _read_file(Path(source), what)
    else:
        raise DataError(
            f"The {what} must be a pandas DataFrame or a path to a .csv or .parquet file; "
            f"got a {type(source).__name__}."
        )
    if frame.shape[1] == 0 or len(frame) == 0:
        raise DataError(f"The {what} table is empty: it has {len(frame)} rows and "
                        f"{frame.shape[1]} columns.")
    frame.columns = [str(c) for c in frame.columns]
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"The {what} has duplicated column names {duplicated}; rename them so "
                        f"each column has one name.")
    return frame


def _read_file(path: Path, what: str) -> pd.DataFrame:
    if not path.exists():
        raise DataError(f"The {what} file '{path}' does not exist; check the path.")
    if path.is_dir():
        raise DataError(f"The {what} path '{path}' is a folder; give a .csv or .parquet file.")
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(path)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError,
            ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"Could not read the {what} file '{path}' as {suffix[1:]}: {reason}. "
                        f"Check that it is a valid {suffix[1:]} file.") from None
    raise DataError(f"The {what} file '{path}' has the extension '{suffix or '(none)'}'; "
                    f"explorer reads .csv and .parquet files.")


def _require_columns(frame: pd.DataFrame, columns, role: str) -> None:
    for column in columns:
        if column not in frame.columns:
            close = difflib.get_close_matches(column, frame.columns, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            listing = ", ".join(map(str, frame.columns[:20]))
            more = " ..." if frame.shape[1] > 20 else ""
            raise DataError(f"The {role} column '{column}' is not in the data.{hint} "
                            f"The columns are: {listing}{more}.")


def _as_tuple(columns) -> tuple[str, ...]:
    if columns is None:
        return ()
    if isinstance(columns, str):
        return tuple(c.strip() for c in columns.split(",") if c.strip())
    return tuple(str(c) for c in columns)


def infer_schema(frame: pd.DataFrame, *, target: str, prediction: str | None = None,
                 probabilities=None, features=None, embedding=None, groups=None,
                 task: str | None = None) -> Schema:
    """Decide the role of every column and check the table can be analysed.

    By default every column that is not the target, prediction, probabilities, embedding or
    a group becomes a feature, except id-like, constant, date and free-text columns, which are
    left out with the reason recorded in ``Schema.ignored``.
    """
    probabilities, embedding, groups = map(_as_tuple, (probabilities, embedding, groups))
    _require_columns(frame, [target], "target")
    _require_columns(frame, [prediction] if prediction else [], "prediction")
    _require_columns(frame, probabilities, "probability")
    _require_columns(frame, embedding, "embedding")
    _require_columns(frame, groups, "group")
    if len(frame) < MIN_ROWS:
        raise DataError(f"The data has {len(frame)} rows; explorer needs at least {MIN_ROWS} "
                        f"to find and test regions. Add rows.")
    _check_no_missing(frame, target, "target")
    task = task or _infer_task(frame[target])
    classes = tuple(sorted(frame[target].unique().tolist(), key=str)) \
        if task == "classification" else ()
    if task == "classification":
        _check_classes(frame[target], classes)
    if prediction:
        _check_no_missing(frame, prediction, "prediction")
    _check_numeric(frame, probabilities, "probability", allow_missing=False)
    _check_numeric(frame, embedding, "embedding", allow_missing=False)
    if probabilities and len(probabilities) != len(classes):
        raise DataError(f"{len(probabilities)} probability columns were given for {len(classes)} "
                        f"classes {list(classes)}; give one column per class, in that order.")

    reserved = {target, prediction, *probabilities, *embedding, *groups}
    ignored: dict[str, str] = {}
    if features is None:
        candidates = [c for c in frame.columns if c not in reserved]
    else:
        candidates = list(_as_tuple(features))
        _require_columns(frame, candidates, "feature")
        if target in candidates:
            raise DataError(f"The target '{target}' is also listed as a feature; remove it from "
                            f"the features (a model would just copy it).")
    numeric, categorical = [], []
    for column in candidates:
        role = _column_role(frame[column], column, explicit=features is not None)
        if role in ("numeric", "categorical"):
            (numeric if role == "numeric" else categorical).append(column)
        else:
            ignored[column] = role
    if not numeric and not categorical and not embedding:
        reasons = "; ".join(f"'{c}': {r}" for c, r in ignored.items()) or "none left"
        raise DataError(f"No usable feature columns remain ({reasons}). Name the features with "
                        f"features=[...] (--features A,B) or pass embedding columns.")
    return Schema(target=target, task=task, classes=classes, prediction=prediction,
                  probabilities=probabilities, numeric=tuple(numeric),
                  categorical=tuple(categorical), embedding=embedding, groups=groups,
                  ignored=ignored)


def _infer_task(target: pd.Series) -> str:
    if pd.api.types.is_float_dtype(target):
        values = target.to_numpy(dtype=float)
        is_integral = np.all(np.mod(values, 1) == 0)
        if not is_integral or target.nunique() > REGRESSION_MIN_DISTINCT:
            return "regression"
    if pd.api.types.is_integer_dtype(target) and target.nunique() > MAX_CLASSES:
        return "regression"
    return "classification"


def _check_classes(target: pd.Series, classes: tuple) -> None:
    if len(classes) < 2:
        raise DataError(f"The target '{target.name}' needs at least 2 classes, found "
                        f"{len(classes)} ({', '.join(map(repr, classes))}).")
    if len(classes) > MAX_CLASSES:
        raise DataError(f"The target '{target.name}' has {len(classes)} distinct values, more "
                        f"than the {MAX_CLASSES} classes explorer handles. If it is a number "
                        f"to predict, pass task='regression' (--task regression).")


def _check_no_missing(frame: pd.DataFrame, column: str, role: str) -> None:
    missing = np.flatnonzero(frame[column].isna().to_numpy())
    if missing.size:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if missing.size > 5 else "")
        raise DataError(f"The {role} column '{column}' has {missing.size} missing values (rows "
                        f"{shown}); fill or drop those rows first.")


def _check_numeric(frame: pd.DataFrame, columns, role: str, *, allow_missing: bool) -> None:
    for column in columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"The {role} column '{column}' must be numeric; it holds "
                            f"{frame[column].dtype} values such as {frame[column].iloc[0]!r}.")
        if not allow_missing:
            _check_no_missing(frame, column, role)


def _column_role(series: pd.Series, name: str, *, explicit: bool) -> str:
    """Return 'numeric', 'categorical', or the reason the column is left out."""
    distinct = series.nunique(dropna=True)
    if distinct <= 1:
        return "constant (one value)"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "date/time (derive numeric features from it to use it)"
    if pd.api.types.is_bool_dtype(series):
        return "categorical"
    if pd.api.types.is_numeric_dtype(series):
        if not explicit and _looks_like_id(series, name):
            return "id-like (unique per row)"
        return "numeric"
    text = series.dropna().astype(str)
    if distinct > 0.5 * len(series) and text.str.len().mean() > TEXT_MEAN_LENGTH:
        return "free text (embed it and pass the embedding columns)"
    if not explicit and distinct == len(series):
        return "id-like (unique per row)"
    return "categorical"


def _looks_like_id(series: pd.Series, name: str) -> bool:
    lowered = name.lower()
    named_like_id = lowered in ("id", "index", "row", "key") or lowered.endswith(("_id", "id"))
    return bool(named_like_id and pd.api.types.is_integer_dtype(series)
                and series.is_unique)


def check_pool(pool: pd.DataFrame, schema: Schema) -> None:
    """Check that an unlabelled pool carries every column the model and the map read."""
    needed = list(schema.features) + list(schema.embedding)
    missing = [c for c in needed if c not in pool.columns]
    if missing:
        raise SchemaMismatchError(
            f"The pool lacks {len(missing)} column(s) the data has: {missing[:10]}. A pool "
            f"needs the same feature columns as the data (its labels may be absent).")
    for column in schema.numeric + schema.embedding:
        if not pd.api.types.is_numeric_dtype(pool[column]) and pool[column].notna().any():
            raise SchemaMismatchError(
                f"The pool column '{column}' holds {pool[column].dtype} values but the data's "
                f"'{column}' is numeric; fix the pool's values.")
