"""Honest predictions: out-of-fold, so errors are errors on unseen rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.data import infer_schema
from explorer.errors import DataError
from explorer.model import honest_predictions


def noise_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                         "c": rng.choice(["x", "y", "z"], n), "label": rng.choice(["p", "q"], n)})


def test_out_of_fold_errors_on_noise_are_near_chance():
    """A model that memorised its rows would look ~100% right; unseen rows show ~50%."""
    frame = noise_table()
    predictions = honest_predictions(frame, infer_schema(frame, target="label"), seed=0)
    assert 0.35 < predictions.is_error.mean() < 0.65
    assert predictions.probabilities.shape == (300, 2)
    assert np.allclose(predictions.probabilities.sum(axis=1), 1)
    assert set(predictions.predicted) <= {"p", "q"}


def test_learnable_multiclass_is_learned():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(450, 2))
    label = np.select([x[:, 0] > 0.5, x[:, 0] < -0.5], ["high", "low"], "mid")
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1], "label": label})
    predictions = honest_predictions(frame, infer_schema(frame, target="label"), seed=0)
    assert predictions.score > 0.85 and predictions.score_name == "accuracy"
    assert predictions.classes == ("high", "low", "mid")


def test_regression_errors_are_the_worst_fifth_of_losses():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=300)})
    frame["y"] = 3 * frame["x"] + rng.normal(scale=0.5, size=300)
    predictions = honest_predictions(frame, infer_schema(frame, target="y"), seed=0)
    assert predictions.score_name == "R²" and predictions.score > 0.8
    assert predictions.is_error.mean() == pytest.approx(0.2, abs=0.01)
    assert predictions.error[predictions.is_error].min() >= predictions.error[~predictions.is_error].max()


def test_given_predictions_are_used_as_given():
    frame = noise_table().assign(pred="p")
    predictions = honest_predictions(frame, infer_schema(frame, target="label", prediction="pred"),
                                     seed=0)
    assert np.array_equal(predictions.is_error, (frame["label"] != "p").to_numpy())
    assert predictions.source == "given (column 'pred')"


def test_unrelated_prediction_column_is_refused():
    frame = noise_table().assign(pred="zzz")
    with pytest.raises(DataError, match="are not classes of 'label'"):
        honest_predictions(frame, infer_schema(frame, target="label", prediction="pred"), seed=0)


def test_a_class_with_one_row_is_refused_with_the_fix():
    frame = noise_table()
    frame.loc[0, "label"] = "lonely"
    with pytest.raises(DataError, match="'lonely' of 'label' has only 1 row"):
        honest_predictions(frame, infer_schema(frame, target="label"), seed=0)


def test_a_class_rarer_than_the_folds_cuts_them_and_says_so():
    frame = noise_table(120)
    frame.loc[:2, "label"] = "rare"
    predictions = honest_predictions(frame, infer_schema(frame, target="label"), seed=0)
    assert "3-fold cross-validation; the class 'rare' has only 3 rows, so 3 folds instead " \
           "of 5" in predictions.source
    assert "5-fold cross-validation)" in honest_predictions(
        noise_table(120), infer_schema(noise_table(120), target="label"), seed=0).source


def test_a_regression_target_too_large_for_the_baseline_is_refused_with_the_fix():
    rng = np.random.default_rng(3)  # found by tests/test_fuzz.py: NaN gradients, a warning
    frame = pd.DataFrame({"x": rng.normal(size=100), "y": rng.normal(size=100) * 1e63})
    with pytest.raises(DataError, match=r"as large as .*e\+63; .* up to 1e\+30. Rescale"):
        honest_predictions(frame, infer_schema(frame, target="y"), seed=0)
