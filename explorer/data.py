"""Load a labelled table and work out what each column is for.

The schema is decided once, here, so every later stage (model, map, rules, collection list)
agrees on which columns are features, which are reported as groups, and which are ignored and
why. Problems are raised as :class:`~explorer.errors.DataError` with the fix in the message.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError, SchemaMismatchError
from .reader import read_file

__all__ = ["Schema", "read_table", "labelled_rows", "infer_schema", "align_pool", "label_key",
           "label_keys", "guess_target", "column_findings", "finite_features", "text_columns",
           "image_shapes"]

MIN_ROWS = 40
"""Fewer rows than this cannot hold a region that a test could confirm."""

MAX_CLASSES = 50
TEXT_MEAN_LENGTH = 40
FREE_TEXT = "free text (pass it as text= (--text) to embed it, or pass embedding columns)"
"""Why a column of free text is left out of the features (``text=`` embeds one instead)."""
MIN_IMAGE_SIDE = 4
"""Images smaller than 4 pixels a side show nothing a person can read, so pixel columns that
make no larger shape are taken as ordinary numbers."""
REGRESSION_MIN_DISTINCT = 20
LARGEST_NUMBER = float(np.finfo(np.float32).max)
"""Feature values beyond this are infinite to the 32-bit floats of the rule trees and the
map, so they are read as missing, as infinities are."""
ID_WORDS = frozenset({"id", "no", "nr", "num", "number", "code", "key", "index", "row"})
"""Last words of the names of row numbers: ``customer_no``, ``OrderNr``, ``invoice_number``."""
NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
"""The words of a column name, split at separators and at camelCase: ``OrderID`` -> Order, ID."""


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
    text: str | None = None
    """A column of free text, embedded into the ``embedding`` columns (``explorer.text``)."""
    image_shape: tuple[int, int] | None = None
    """(height, width) when each row is an image stored row-major in ``pixel_*`` columns."""

    @property
    def features(self) -> tuple[str, ...]:
        return self.numeric + self.categorical

    @property
    def is_classification(self) -> bool:
        return self.task == "classification"


def label_key(value) -> str:
    """Compare labels across dtypes: 1, 1.0 and "1" read from a CSV are the same class."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    return str(value)


def label_keys(values) -> np.ndarray:
    """:func:`label_key` of every value, as an object array.

    A column of one non-object dtype is keyed once per distinct value (a million labels in
    a tenth of a second, where a call per value took a second); an object column may mix
    values that Python takes as equal but keys apart (``True`` and ``1``), so each of its
    values is keyed.
    """
    values = np.asarray(values)
    if values.dtype == object:
        return np.array([label_key(v) for v in values], dtype=object)
    codes, distinct = pd.factorize(values, use_na_sentinel=False)
    return np.array([label_key(v) for v in distinct], dtype=object)[codes]


def read_table(source, *, what: str = "data", notes: list[str] | None = None,
               progress=None) -> pd.DataFrame:
    """Return ``source`` as a DataFrame with a fresh 0..n-1 index.

    ``source`` is a DataFrame or a path to a ``.csv`` or ``.parquet`` file (read by
    :func:`explorer.reader.read_file`: encoding, separator and decimal comma detected).
    What was detected is appended to ``notes`` when given; ``progress(share_read)`` is called
    as a CSV file is parsed. Row positions in every output refer to this order.
    """
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
    elif isinstance(source, (str, Path)):
        frame = read_file(Path(source), what, notes if notes is not None else [], progress)
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


def labelled_rows(frame: pd.DataFrame, *, target: str, prediction: str | None,
                  notes: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """The rows that have a label (and a prediction, when one is named), and their positions.

    A row without its label cannot be scored, and one without the model's prediction has no
    error to count; dropping a few such rows with a count serves a user better than refusing
    the file. The kept rows get a fresh 0..n-1 index (every output counts rows that way), and
    their positions in ``frame`` are returned so exports can also name them as the file does.
    """
    _require_columns(frame, [target], "target")
    _require_columns(frame, [prediction] if prediction else [], "prediction")
    unusable = np.zeros(len(frame), dtype=bool)
    for column, role in ((target, "label"), (prediction, "prediction")):
        if column is None:
            continue
        blank = _missing_or_infinite(frame[column])
        if blank.any():
            notes.append(f"Dropped {int(blank.sum())} rows without a {role} in '{column}' "
                         f"(rows {_shown(np.flatnonzero(blank))}, counting from 0).")
        unusable |= blank
    if unusable.all():
        named = f"'{target}'" + (f" or '{prediction}'" if prediction else "")
        raise DataError(f"No row has a value in {named}: all {len(frame)} are missing or "
                        f"infinite. Check the column names, or fill the column.")
    kept = np.flatnonzero(~unusable)
    if not unusable.any():
        return frame, kept
    return frame.iloc[kept].reset_index(drop=True), kept


def _missing_or_infinite(column: pd.Series) -> np.ndarray:
    blank = column.isna().to_numpy()
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        blank = blank | np.isinf(column.to_numpy(dtype=float))
    return blank


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
                 task: str | None = None, text: str | None = None,
                 image_shape: tuple[int, int] | None = None) -> Schema:
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
    _require_columns(frame, [text] if text else [], "text")
    image_shape = _checked_image_shape(frame, image_shape)
    if len(frame) < MIN_ROWS:
        raise DataError(f"The data has {len(frame)} rows; explorer needs at least {MIN_ROWS} "
                        f"to find and test regions. Add rows.")
    _check_no_missing(frame, target, "target")
    _check_one_kind(frame, target, "target")
    task = task or _infer_task(frame[target])
    classes = tuple(sorted(frame[target].unique().tolist(), key=str)) \
        if task == "classification" else ()
    if task == "classification":
        _check_classes(frame[target], classes)
    if prediction:
        _check_no_missing(frame, prediction, "prediction")
        _check_one_kind(frame, prediction, "prediction")
        _check_prediction(frame, target, prediction, classes)
    _check_numeric(frame, probabilities, "probability", allow_missing=False)
    _check_numeric(frame, embedding, "embedding", allow_missing=False)
    if probabilities and len(probabilities) != len(classes):
        raise DataError(f"{len(probabilities)} probability columns were given for {len(classes)} "
                        f"classes {list(classes)}; give one column per class, in that order.")

    reserved = {target, prediction, *probabilities, *embedding, *groups, text}
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
                  ignored=ignored, text=text, image_shape=image_shape)


def image_shapes(frame: pd.DataFrame) -> list[tuple[int, int]]:
    """The (height, width) shapes the table's numeric ``pixel_0 .. pixel_{n-1}`` columns can
    make (both sides at least ``MIN_IMAGE_SIDE``), the squarest first: how images stored as
    a table are told from an ordinary table, and the shapes a person may choose from."""
    count = 0
    while f"pixel_{count}" in frame.columns:
        count += 1
    if not all(pd.api.types.is_numeric_dtype(frame[f"pixel_{i}"]) for i in range(count)):
        return []
    shapes = [(height, count // height) for height in range(MIN_IMAGE_SIDE, count + 1)
              if count % height == 0 and count // height >= MIN_IMAGE_SIDE]
    return sorted(shapes, key=lambda shape: (abs(shape[0] - shape[1]), shape[0]))


def text_columns(frame: pd.DataFrame) -> list[str]:
    """The columns :func:`infer_schema` leaves out as free text: the ones ``text=`` can embed."""
    return [str(name) for name in frame.columns
            if _column_role(frame[name], str(name), explicit=False) == FREE_TEXT]


def _checked_image_shape(frame: pd.DataFrame, image_shape) -> tuple[int, int] | None:
    """``image_shape`` as (height, width), refused when the table lacks its pixel columns."""
    if image_shape is None:
        return None
    try:
        height, width = (int(side) for side in image_shape)
    except (TypeError, ValueError):
        raise DataError(f"image_shape must be (height, width), e.g. (8, 8); got "
                        f"{image_shape!r}.") from None
    if height < 1 or width < 1:
        raise DataError(f"image_shape must be two positive sides; got {image_shape!r}.")
    missing = [f"pixel_{i}" for i in range(height * width) if f"pixel_{i}" not in frame.columns]
    if missing:
        raise DataError(f"image_shape {height}x{width} needs the columns pixel_0 .. "
                        f"pixel_{height * width - 1} (row-major pixels); {len(missing)} are "
                        f"missing, e.g. {missing[:3]}. Check the shape or the column names.")
    return height, width


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
    """Refuse missing values, and infinite ones in a column of numbers."""
    missing = np.flatnonzero(_missing_or_infinite(frame[column]))
    if missing.size:
        raise DataError(f"The {role} column '{column}' has {missing.size} missing or infinite "
                        f"values (rows {_shown(missing)}); fill or drop those rows first.")


def _check_one_kind(frame: pd.DataFrame, column: str, role: str) -> None:
    """Labels of one kind: mixed, 0 and False or 1 and True would merge into one class."""
    kinds = _value_kinds(frame[column]) if frame[column].dtype == object else []
    if len(kinds) > 1:
        raise DataError(f"The {role} column '{column}' mixes {' and '.join(kinds)}; labels "
                        f"must be of one kind. Convert it first (e.g. "
                        f"frame['{column}'].astype(str)).")


def _same_labels(first: pd.Series, second: pd.Series) -> bool:
    """Whether two columns hold the same labels on every row, 1, 1.0 and "1" alike.

    Columns of one non-object dtype compare by value; only mixed or object columns need the
    per-value comparison (3 s of a 1M-row table's checks, measured 2026-12-02).
    """
    if first.equals(second):
        return True
    if first.dtype == second.dtype and first.dtype != object:
        return False
    return [label_key(v) for v in first] == [label_key(v) for v in second]


def _check_prediction(frame: pd.DataFrame, target: str, prediction: str, classes: tuple
                      ) -> None:
    """A prediction column must be a model's output: not the labels, not other values."""
    if prediction == target or _same_labels(frame[prediction], frame[target]):
        raise DataError(f"The prediction column '{prediction}' equals the target '{target}' on "
                        f"every row, so the analysis would compare the labels with themselves. "
                        f"Pass the column that holds the model's predictions, or none to train "
                        f"a baseline model.")
    if not classes:
        return
    known = {label_key(c) for c in classes}
    values = frame[prediction].drop_duplicates()
    unknown = values[[label_key(v) not in known for v in values]]
    strange = frame[prediction][frame[prediction].isin(unknown)]
    if len(strange):
        counts = strange.astype(str).value_counts()
        shown = ", ".join(f"{value!r} ({n} rows)" for value, n in counts.head(5).items())
        raise DataError(f"The prediction column '{prediction}' holds values that are not "
                        f"classes of '{target}': {shown}. Predictions must be one of "
                        f"{[str(c) for c in classes][:10]}; map them to those labels first.")


def _check_numeric(frame: pd.DataFrame, columns, role: str, *, allow_missing: bool) -> None:
    for column in columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            raise DataError(f"The {role} column '{column}' must be numeric; it holds "
                            f"{frame[column].dtype} values such as {frame[column].iloc[0]!r}.")
        if not allow_missing:
            _check_no_missing(frame, column, role)


def finite_features(frame: pd.DataFrame, schema: Schema, what: str, notes: list[str]
                    ) -> pd.DataFrame:
    """``frame`` with infinite feature values read as missing; both counted in ``notes``.

    The model and the map treat missing values (a native branch, a median and an indicator),
    but an infinity would reach them as a number; nothing non-finite goes further than here.
    Numbers beyond ``LARGEST_NUMBER`` count as infinite.
    """
    numeric = [c for c in schema.numeric if c in frame.columns]
    values = frame[numeric].to_numpy(dtype=float) if numeric else np.empty((len(frame), 0))
    too_large = np.abs(values) > LARGEST_NUMBER
    infinite = dict(zip(numeric, too_large.sum(axis=0).tolist()))
    if any(infinite.values()):
        frame = frame.copy()
        for index, column in enumerate(numeric):
            if infinite[column]:
                frame[column] = frame[column].mask(too_large[:, index])
        notes.append(f"Infinite values (or beyond ±{LARGEST_NUMBER:.2g}) in the {what} were "
                     f"read as missing: "
                     + ", ".join(f"'{c}' {n}" for c, n in infinite.items() if n) + ".")
    missing = {c: int(n) for c, n in frame[list(schema.features)].isna().sum().items() if n}
    if missing:
        notes.append(f"Missing values in the {what} (the model and the map treat them as "
                     f"missing): " + ", ".join(f"'{c}' {n} ({n / len(frame):.1%})"
                                              for c, n in missing.items()) + ".")
    return frame


def _shown(rows: np.ndarray) -> str:
    return ", ".join(map(str, rows[:5])) + (" ..." if rows.size > 5 else "")


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
        if series[np.abs(series.astype(float)) <= LARGEST_NUMBER].nunique() <= 1:
            return "constant (one value once infinite and too large numbers are missing)"
        reason = None if explicit else _id_reason(series, name)
        return f"id-like ({reason}; name it in the features to use it)" if reason \
            else "numeric"
    kinds = _value_kinds(series)
    if len(kinds) > 1:
        mixed = f"mixed types ({' and '.join(kinds)})"
        if explicit:
            raise DataError(f"The feature column '{name}' holds {mixed}; convert it to one "
                            f"type first (e.g. frame['{name}'].astype(str) for categories).")
        return f"{mixed}; convert it to one type to use it"
    text = series.dropna().astype(str)
    if distinct > 0.5 * len(series) and text.str.len().mean() > TEXT_MEAN_LENGTH:
        return FREE_TEXT
    if not explicit and distinct == len(series):
        return "id-like (unique per row)"
    return "categorical"


def _value_kinds(series: pd.Series) -> list[str]:
    """The kinds of value an object column holds (a DataFrame built in Python may mix them;
    a model's encoder cannot sort 1 against "a")."""
    def kind(kind_of_value: type) -> str:
        if issubclass(kind_of_value, (bool, np.bool_)):
            return "true/false"
        if issubclass(kind_of_value, (int, float, np.number)):
            return "numbers"
        return "text" if issubclass(kind_of_value, str) else kind_of_value.__name__

    if isinstance(series.dtype, pd.StringDtype):  # holds text alone; no per-value scan
        return ["text"] if series.notna().any() else []
    return sorted({kind(t) for t in set(map(type, series.dropna()))})


def _id_reason(series: pd.Series, name: str) -> str | None:
    """Why an integer column unique per row is a row number, not a measurement, or None.

    A model can memorise such a number but never generalise from it. It is one when its
    name ends in an id word (``customer_no``, ``OrderID``, ``row``) or when its values are a
    contiguous range in some order (a counter, whatever it is called).
    """
    if not pd.api.types.is_integer_dtype(series) or not series.is_unique:
        return None
    words = [w.lower() for w in NAME_WORDS.findall(name)]
    if (words and words[-1] in ID_WORDS) or name.lower().endswith("id"):
        return "a unique number per row, named like an id"
    low, high = int(series.min()), int(series.max())
    if high - low + 1 == len(series):
        return f"a unique number per row, the numbers {low} to {high} in some order"
    return None


def align_pool(pool: pd.DataFrame, frame: pd.DataFrame, schema: Schema,
               notes: list[str] | None = None) -> pd.DataFrame:
    """The pool with its columns matched to the data's by name, each in the data's kind.

    Missing feature columns and numbers that are text in the pool are refused, all of them
    in one message; columns the data lacks, category columns written as numbers and
    categories the data never saw are allowed and listed in ``notes`` (looked for only when
    ``notes`` is given). Columns are matched by name, never by position. Each row is aligned
    on its own, so a pool aligned in chunks gives the rows of the pool aligned at once; the
    data's rows are read only for the notes (its kinds of column otherwise).
    """
    needed = list(schema.features) + list(schema.embedding)
    missing = [c for c in needed if c not in pool.columns]
    retyped = [c for c in schema.numeric + schema.embedding
               if c in pool.columns and not pd.api.types.is_numeric_dtype(pool[c])
               and pd.to_numeric(pool[c].dropna(), errors="coerce").isna().any()]
    problems = []
    if missing:
        problems.append(f"it lacks {len(missing)} feature column(s) the data has: "
                        f"{missing[:10]}")
    if retyped:
        examples = {c: pool[c].dropna().iloc[0] for c in retyped[:5]}
        problems.append(f"the column(s) {retyped[:10]} hold text where the data holds numbers "
                        f"(e.g. {examples})")
    if problems:
        raise SchemaMismatchError(f"The pool does not match the data: {'; '.join(problems)}. "
                                  f"A pool needs the data's feature columns, by name, with the "
                                  f"same kind of values (its labels may be absent).")
    pool = pool.copy()
    for column in schema.numeric + schema.embedding:
        if not pd.api.types.is_numeric_dtype(pool[column]):  # numbers stored as text
            pool[column] = pd.to_numeric(pool[column], errors="coerce")
    for column in schema.categorical:
        numbers_for_categories = pd.api.types.is_numeric_dtype(pool[column]) and \
            not pd.api.types.is_numeric_dtype(frame[column])
        if not numbers_for_categories and notes is None:
            continue
        like_data = pool[column].map(lambda v: v if pd.isna(v) else label_key(v))
        if numbers_for_categories:
            if notes is not None:
                notes.append(f"The pool column '{column}' holds {pool[column].dtype} values "
                             f"where the data holds categories; they were read as categories.")
            pool[column] = like_data.astype(object)
        if notes is None:
            continue
        seen = {label_key(v) for v in frame[column].dropna().unique()}
        unseen = like_data.notna() & ~like_data.isin(seen)
        if unseen.any():
            values = sorted(like_data[unseen].unique().tolist(), key=str)[:5]
            notes.append(f"The pool column '{column}' has {int(unseen.sum())} row(s) with "
                         f"categories the data never saw (e.g. {values}); the model treats "
                         f"them as unknown.")
    extra = [c for c in pool.columns if c not in frame.columns]
    if extra and notes is not None:
        notes.append(f"The pool's column(s) {extra[:10]} are not in the data and are not used.")
    return pool


TARGET_NAMES = ("label", "target", "class", "y", "outcome")
"""Column names that say "I am the label", in the order a guess prefers them."""
FEW_CLASSES = 10
"""A target with more distinct values than this is worth a question before it is taken as
classes: a count (``visits``) or a measurement is a common wrong guess."""


def guess_target(frame: pd.DataFrame) -> tuple[str, str]:
    """Return the column most likely to be the label, and why it was picked, in words.

    A column named like a label (``label``, ``target``, ``class``, ``y``, ``outcome``, any
    case) wins; else the last column, the usual place, with a reason that says so.
    """
    by_lower = {str(c).lower(): str(c) for c in frame.columns}
    for name in TARGET_NAMES:
        if name in by_lower:
            return by_lower[name], f"it is called '{by_lower[name]}'"
    last = str(frame.columns[-1])
    return last, (f"it is the last column (no column is called "
                  f"{', '.join(TARGET_NAMES[:-1])} or {TARGET_NAMES[-1]})")


def column_findings(frame: pd.DataFrame, target: str, prediction: str | None = None
                    ) -> tuple[str | None, list[str]]:
    """Check a choice of target and prediction before any work is spent on it.

    Returns the problem that stops the analysis (the :class:`DataError` of
    :func:`infer_schema`, whose message says the fix), or None, and the questions worth
    asking a person in plain words (a file read as one column, a label with many values).
    """
    questions = []
    if frame.shape[1] == 1:
        name = str(frame.columns[0])
        seen = [s for s in ";|\t," if s in name]
        questions.append(f"The file was read as one column only ('{name[:60]}'). "
                         + (f"Is its separator '{seen[0]}'? Save it with commas, or check "
                            f"the file's export settings." if seen else
                            "A table needs a label column and at least one feature column."))
    if target in frame.columns:
        column = frame[target]
        distinct = column.nunique(dropna=True)
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column) \
                and distinct > FEW_CLASSES:
            treated = ("a number to predict (regression)" if _infer_task(column) == "regression"
                       else f"{distinct} classes")
            questions.append(f"'{target}' has {distinct} different values: is it your label? "
                             f"It would be treated as {treated}.")
    try:
        infer_schema(frame, target=target, prediction=prediction)
    except DataError as exc:
        return str(exc), questions
    return None, questions
