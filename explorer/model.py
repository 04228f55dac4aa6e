"""Honest predictions: every error is an error on a row the model did not train on.

With a prediction column we take the user's model at its word. Without one we train a strong
default (histogram gradient boosting) and predict each row from the folds that left it out,
so an error region is a place the model generalises badly, not a place it memorised.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder

from threadpoolctl import threadpool_limits

from .data import Schema, label_key, label_keys
from .errors import DataError
from .types import Predictions

__all__ = ["baseline_model", "honest_predictions", "model_inputs", "row_errors",
           "encode_target", "label_key"]

N_SPLITS = 5
SINGLE_THREAD_BELOW = 20_000
"""Below this many rows the baseline trains on one OpenMP thread. On a loaded 2-core machine
5-fold boosting on 2,000 rows took 128 s with OpenMP's threads (they spin-wait for cores
another process holds) and 3.3 s with one; small fits gain little from threads anyway."""
REGRESSION_ERROR_QUANTILE = 0.8
"""For regression a row counts as an error when its loss is in the worst fifth of all rows."""
REGRESSION_MAX_ABS = 1e30
"""Largest target size the baseline can learn: histogram gradient boosting keeps gradients
in 32-bit floats (at most 3.4e38), and sums of larger ones overflow into NaN."""


def model_inputs(frame: pd.DataFrame, schema: Schema) -> pd.DataFrame:
    """The columns the model reads: features and embedding, in schema order."""
    return frame[list(schema.features) + list(schema.embedding)]


def baseline_model(schema: Schema, *, seed: int) -> Pipeline:
    """A strong, fast default: ordinal-encoded categoricals into histogram gradient boosting.

    Missing values and unseen categories go to the boosting's native missing-value branch.
    """
    categorical = list(schema.categorical)
    encoder = ColumnTransformer(
        [("categorical", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                        encoded_missing_value=np.nan, max_categories=250),
          categorical)],
        remainder="passthrough", verbose_feature_names_out=False,
    )
    is_categorical = [True] * len(categorical) + \
        [False] * (len(schema.numeric) + len(schema.embedding))
    if schema.is_classification:
        estimator = HistGradientBoostingClassifier(categorical_features=is_categorical,
                                                   random_state=seed)
    else:
        estimator = HistGradientBoostingRegressor(categorical_features=is_categorical,
                                                  random_state=seed)
    return Pipeline([("encode", encoder), ("model", estimator)])


def encode_target(values: pd.Series, schema: Schema) -> np.ndarray:
    """Class labels as positions in ``schema.classes`` (regression: the values as floats)."""
    if not schema.is_classification:
        return values.to_numpy(dtype=float)
    position = {label_key(c): i for i, c in enumerate(schema.classes)}
    return np.array([position.get(key, -1) for key in label_keys(values)], dtype=int)


def row_errors(truth: np.ndarray, predicted: np.ndarray, schema: Schema
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per-row loss and the boolean the region search counts (see ``Predictions``)."""
    if schema.is_classification:
        wrong = label_keys(truth) != label_keys(predicted)
        return wrong.astype(float), wrong
    loss = np.abs(truth.astype(float) - predicted.astype(float))
    return loss, loss > np.quantile(loss, REGRESSION_ERROR_QUANTILE)


def honest_predictions(frame: pd.DataFrame, schema: Schema, *, seed: int) -> Predictions:
    """Predictions for every row: the given column, or the baseline's out-of-fold ones."""
    truth = frame[schema.target].to_numpy()
    if schema.prediction:
        return _given_predictions(frame, schema, truth)
    threads = 1 if len(frame) < SINGLE_THREAD_BELOW else None
    with threadpool_limits(limits=threads, user_api="openmp"):
        return _out_of_fold(frame, schema, truth, seed)


def _out_of_fold(frame: pd.DataFrame, schema: Schema, truth: np.ndarray, seed: int
                 ) -> Predictions:
    inputs = model_inputs(frame, schema)
    target = encode_target(frame[schema.target], schema)
    pipeline = baseline_model(schema, seed=seed)
    if schema.is_classification:
        folds = _stratified_folds(target, schema, seed)
        probabilities = cross_val_predict(pipeline, inputs, target, cv=folds,
                                          method="predict_proba")
        predicted = np.asarray(schema.classes, dtype=object)[probabilities.argmax(axis=1)]
        predicted = pd.Series(predicted).astype(frame[schema.target].dtype).to_numpy()
    else:
        largest = float(np.abs(target).max())
        if largest > REGRESSION_MAX_ABS:
            raise DataError(f"The target '{schema.target}' holds values as large as "
                            f"{largest:.3g}; the baseline model learns numbers up to "
                            f"{REGRESSION_MAX_ABS:.0g}. Rescale the target (divide it, or take "
                            f"its log) or pass your model's predictions.")
        folds = KFold(N_SPLITS, shuffle=True, random_state=seed)
        predicted = cross_val_predict(pipeline, inputs, target, cv=folds)
        probabilities = None
    error, is_error = row_errors(truth, predicted, schema)
    return Predictions(predicted=predicted, error=error, is_error=is_error,
                       probabilities=probabilities, classes=schema.classes,
                       source=f"baseline model, out-of-fold ({_folds_text(folds, target, schema)})",
                       **_score(error, truth, predicted, schema))


def _folds_text(folds, target: np.ndarray, schema: Schema) -> str:
    """How many folds were used, and why when it is fewer than ``N_SPLITS``."""
    used = folds.get_n_splits()
    text = f"{used}-fold cross-validation"
    if used < N_SPLITS:
        counts = np.bincount(target, minlength=len(schema.classes))
        rare = schema.classes[int(counts.argmin())]
        text += (f"; the class {rare!r} has only {int(counts.min())} rows, so {used} folds "
                 f"instead of {N_SPLITS}")
    return text


def _stratified_folds(target: np.ndarray, schema: Schema, seed: int) -> StratifiedKFold:
    counts = np.bincount(target, minlength=len(schema.classes))
    smallest = int(counts.min())
    if smallest < 2:
        rare = schema.classes[int(counts.argmin())]
        raise DataError(f"The class {rare!r} of '{schema.target}' has only {smallest} row; "
                        f"out-of-fold predictions need at least 2 rows per class. Add rows of "
                        f"that class, drop it, or pass a prediction column.")
    return StratifiedKFold(min(N_SPLITS, smallest), shuffle=True, random_state=seed)


def _given_predictions(frame: pd.DataFrame, schema: Schema, truth: np.ndarray) -> Predictions:
    predicted = frame[schema.prediction].to_numpy()
    probabilities = None
    if schema.is_classification:
        known = {label_key(c) for c in schema.classes}
        unknown = int((~np.isin(label_keys(predicted), list(known))).sum())
        if unknown > len(predicted) / 2:
            raise DataError(f"{unknown} of {len(predicted)} values in the prediction column "
                            f"'{schema.prediction}' are not classes of '{schema.target}' "
                            f"({list(schema.classes)[:10]}); check that the columns match.")
        if schema.probabilities:
            probabilities = frame[list(schema.probabilities)].to_numpy(dtype=float)
    elif not pd.api.types.is_numeric_dtype(frame[schema.prediction]):
        raise DataError(f"The prediction column '{schema.prediction}' must be numeric for "
                        f"regression; it holds {frame[schema.prediction].dtype} values.")
    error, is_error = row_errors(truth, predicted, schema)
    return Predictions(predicted=predicted, error=error, is_error=is_error,
                       probabilities=probabilities, classes=schema.classes,
                       source=f"given (column '{schema.prediction}')",
                       **_score(error, truth, predicted, schema))


def _score(error: np.ndarray, truth: np.ndarray, predicted: np.ndarray, schema: Schema) -> dict:
    if schema.is_classification:
        return {"score": float(1 - error.mean()), "score_name": "accuracy"}
    residual = truth.astype(float) - predicted.astype(float)
    total = np.sum((truth.astype(float) - truth.astype(float).mean()) ** 2)
    r2 = 1 - np.sum(residual ** 2) / total if total > 0 else float("nan")
    return {"score": float(r2), "score_name": "R²"}
