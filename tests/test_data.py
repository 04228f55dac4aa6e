"""Loading and schema inference: every problem is an ExplorerError that says what to do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.data import (MIN_ROWS, align_pool, finite_features, infer_schema,
                           labelled_rows, read_table)
from explorer.errors import DataError, SchemaMismatchError


def table(n: int = 80, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "customer_id": np.arange(n),
        "age": rng.integers(18, 90, n),
        "income": rng.lognormal(10, 1, n),
        "city": rng.choice(["north", "south"], n),
        "constant": 1,
        "notes": [f"free text note number {i} about this customer's long history" for i in range(n)],
        "label": rng.choice(["yes", "no"], n),
    })


def test_roles_are_inferred_and_reasons_recorded():
    schema = infer_schema(table(), target="label")
    assert schema.task == "classification"
    assert schema.classes == ("no", "yes")
    assert schema.numeric == ("age", "income")
    assert schema.categorical == ("city",)
    assert schema.ignored["customer_id"].startswith("id-like")
    assert schema.ignored["constant"].startswith("constant")
    assert schema.ignored["notes"].startswith("free text")


def test_groups_are_reported_not_used_as_features():
    schema = infer_schema(table(), target="label", groups="city")
    assert schema.groups == ("city",)
    assert "city" not in schema.features


def test_regression_is_inferred_from_a_continuous_target():
    frame = table().assign(label=np.linspace(0, 1, 80))
    assert infer_schema(frame, target="label").task == "regression"


@pytest.mark.parametrize("change, message", [
    (lambda f: f, "Did you mean 'label'"),
    (lambda f: f.head(MIN_ROWS - 1), f"at least {MIN_ROWS}"),
    (lambda f: f.assign(label="yes"), "at least 2 classes, found 1 ('yes')"),
    (lambda f: f.assign(label=f["label"].where(f.index != 3)), "1 missing or infinite values (rows 3)"),
])
def test_data_errors_name_the_problem_and_the_fix(change, message):
    target = "labl" if message.startswith("Did") else "label"
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        infer_schema(change(table()), target=target)


def test_read_table_errors(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "data.xlsx").write_text("x")
    with pytest.raises(DataError, match="reads .csv and .parquet"):
        read_table(tmp_path / "data.xlsx")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty.csv' is empty"):
        read_table(tmp_path / "empty.csv")


def test_csv_and_parquet_read_the_same_table(tmp_path):
    frame = table()
    frame.to_csv(tmp_path / "t.csv", index=False)
    frame.to_parquet(tmp_path / "t.parquet", index=False)
    from_csv, from_parquet = read_table(tmp_path / "t.csv"), read_table(tmp_path / "t.parquet")
    assert list(from_csv.columns) == list(from_parquet.columns) == list(frame.columns)
    assert np.allclose(from_csv["income"], from_parquet["income"])


def test_pool_must_carry_the_feature_columns():
    frame = table()
    schema = infer_schema(frame, target="label")
    align_pool(frame.drop(columns="label"), frame, schema)
    with pytest.raises(SchemaMismatchError, match=r"lacks 1 feature column\(s\) the data has: "
                                                  r"\['age'\]"):
        align_pool(frame.drop(columns=["label", "age"]), frame, schema)


def test_pool_differences_are_listed_and_columns_matched_by_name():
    frame = table()
    schema = infer_schema(frame, target="label")
    notes: list[str] = []
    pool = frame.drop(columns="label").iloc[:, ::-1].assign(
        city=np.arange(len(frame)) % 3, extra=1.0)  # reordered, re-typed, one column more
    aligned = align_pool(pool, frame, schema, notes)
    assert aligned["city"].map(type).eq(str).all() and aligned["age"].equals(frame["age"])
    assert any("'city' holds int64 values" in n for n in notes)
    assert any("never saw" in n for n in notes) and any("['extra']" in n for n in notes)
    broken = pool.drop(columns="age").assign(income="high")
    with pytest.raises(SchemaMismatchError, match=r"lacks 1 feature column.*\['age'\].*"
                                                  r"\['income'\] hold text"):
        align_pool(broken, frame, schema)


@pytest.mark.parametrize("prediction, message", [
    (lambda f: f["label"], "equals the target 'label' on every row"),
    (lambda f: f["label"].astype(str), "equals the target 'label' on every row"),
    (lambda f: np.where(np.arange(len(f)) < 3, "maybe", f["label"]),
     r"not classes of 'label': 'maybe' \(3 rows\)"),
])
def test_a_prediction_column_must_hold_a_models_predictions(prediction, message):
    frame = table()
    frame["pred"] = prediction(frame)
    with pytest.raises(DataError, match=message):
        infer_schema(frame, target="label", prediction="pred")


def test_infinities_are_read_as_missing_and_missing_values_counted():
    from explorer.data import finite_features

    frame = table()
    frame.loc[:2, "income"] = [np.inf, -np.inf, np.nan]
    schema = infer_schema(frame, target="label")
    notes: list[str] = []
    cleaned = finite_features(frame, schema, "data", notes)
    assert np.isfinite(cleaned["income"].dropna()).all() and cleaned["income"].isna().sum() == 3
    assert "'income' 2" in notes[0] and "'income' 3" in notes[1]
    assert np.isinf(frame["income"]).sum() == 2  # the caller's frame is not changed


@pytest.mark.parametrize("name", ["customer_no", "OrderNr", "invoice number", "CustomerID",
                                  "row", "key", "userid"])
def test_a_unique_integer_named_like_an_id_is_left_out_with_a_note(name):
    rng = np.random.default_rng(0)
    frame = table().drop(columns="customer_id").assign(
        **{name: rng.choice(10**6, 80, replace=False)})  # unique, but not a contiguous range
    reason = infer_schema(frame, target="label").ignored[name]
    assert reason.startswith("id-like (a unique number per row, named like an id")


def test_a_shuffled_counter_is_id_like_whatever_its_name():
    frame = table().assign(x=np.random.default_rng(1).permutation(80) + 1000)
    schema = infer_schema(frame, target="label")
    assert "the numbers 1000 to 1079 in some order" in schema.ignored["x"]


def test_unique_measurements_and_repeated_or_named_numbers_stay_features():
    rng = np.random.default_rng(2)
    frame = table().assign(
        balance=rng.normal(1000, 300, 80),  # unique floats are measurements
        number_of_rooms=rng.integers(1, 6, 80),  # an id word, but not the last one
        casino=rng.choice(10**6, 80, replace=False),  # ends in "no", not in the word "no"
        row_count=rng.integers(0, 3, 80))
    schema = infer_schema(frame, target="label")
    assert {"income", "balance", "number_of_rooms", "casino", "row_count"} <= \
        set(schema.numeric)
    assert infer_schema(frame, target="label", features=["customer_id", "age"]).numeric == (
        "customer_id", "age")


def test_an_id_like_column_is_left_out_beside_given_predictions(planted_data):
    frame = planted_data.frame.assign(customer_no=np.arange(len(planted_data.frame)) + 5000)
    schema = infer_schema(frame, target="label", prediction="prediction")
    assert "customer_no" not in schema.features
    assert schema.ignored["customer_no"].startswith("id-like")  # analyze() notes each reason


def test_a_column_mixing_numbers_text_and_booleans_is_left_out_or_refused_when_named():
    frame = table().assign(mixed=[1, "a", True, 2.5] * 20)  # found by tests/test_fuzz.py
    assert infer_schema(frame, target="label").ignored["mixed"] == (
        "mixed types (numbers and text and true/false); convert it to one type to use it")
    with pytest.raises(DataError, match=r"'mixed' holds mixed types .*astype\(str\)"):
        infer_schema(frame, target="label", features=["mixed", "age"])


@pytest.mark.parametrize("role, column", [("target", "label"), ("prediction", "prediction")])
def test_an_infinite_target_or_prediction_is_refused_with_its_rows(role, column):
    rng = np.random.default_rng(0)
    frame = table().assign(label=rng.normal(size=80), prediction=rng.normal(size=80))
    frame.loc[[4, 9], column] = [np.inf, -np.inf]  # found by tests/test_fuzz.py
    with pytest.raises(DataError, match=fr"The {role} column '{column}' has 2 missing or infinite "
                                        fr"values \(rows 4, 9\)"):
        infer_schema(frame, target="label", prediction="prediction")


@pytest.mark.parametrize("column, role", [("label", "label"), ("prediction", "prediction")])
def test_rows_without_a_label_or_prediction_are_dropped_with_a_count(column, role):
    frame = table().assign(prediction=table()["label"])
    frame[column] = frame[column].astype(object)
    frame.loc[[2, 7, 30], column] = [np.nan, None, np.nan]
    notes: list[str] = []
    kept, positions = labelled_rows(frame, target="label", prediction="prediction", notes=notes)
    assert notes == [f"Dropped 3 rows without a {role} in '{column}' (rows 2, 7, 30, "
                     f"counting from 0)."]
    assert len(kept) == 77 and list(kept.index) == list(range(77))
    assert positions.tolist() == [i for i in range(80) if i not in (2, 7, 30)]
    assert kept["age"].tolist() == frame["age"].iloc[positions].tolist()


def test_a_table_with_no_labelled_row_is_refused():
    frame = table().assign(label=np.inf)
    with pytest.raises(DataError, match="No row has a value in 'label': all 80 are missing"):
        labelled_rows(frame, target="label", prediction=None, notes=[])


def test_a_target_mixing_numbers_and_booleans_is_refused():
    frame = table().assign(label=[0, False, 1, True] * 20)  # found by tests/test_fuzz.py
    with pytest.raises(DataError, match="'label' mixes numbers and true/false; labels must"):
        infer_schema(frame, target="label")


def test_numbers_beyond_32_bit_floats_are_read_as_missing_with_a_note():
    frame = table().assign(huge=[4e290, 1.0, -2e39, 3.0] * 20)  # found by tests/test_fuzz.py
    schema = infer_schema(frame, target="label")
    notes: list[str] = []
    finite = finite_features(frame, schema, "data", notes)
    assert finite["huge"].isna().sum() == 40 and finite["huge"].max() == 3.0
    assert "beyond ±3.4e+38" in notes[0] and "'huge' 40" in notes[0]


def test_a_column_whose_only_other_values_are_too_large_is_constant():
    frame = table().assign(big=[0.0, -9.3e70, np.inf, 0.0] * 20)  # found by tests/test_fuzz.py
    assert infer_schema(frame, target="label").ignored["big"].startswith("constant")
