"""Loading and schema inference: every problem is an ExplorerError that says what to do."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from explorer.data import MIN_ROWS, check_pool, infer_schema, read_table
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
    (lambda f: f.assign(label=f["label"].where(f.index != 3)), "1 missing values (rows 3)"),
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
    with pytest.raises(DataError, match="Could not read"):
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
    check_pool(frame.drop(columns="label"), schema)
    with pytest.raises(SchemaMismatchError, match=r"lacks 1 column\(s\) the data has: \['age'\]"):
        check_pool(frame.drop(columns=["label", "age"]), schema)
