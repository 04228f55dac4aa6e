"""A biased-sampling generator: a real table whose training split under-covers one group.

:func:`make_biased_split` takes a real dataset with demographic columns (the UCI Adult
census table inside the mglearn wheel), holds out a test set and an audit set from the
natural distribution, draws an unlabelled pool from the natural distribution too (true
labels hidden in a separate column, for the simulated annotator), and builds the training
split from the remaining rows, recording only a small share of a chosen group's rows: the
rows it did not record are gone, as they are when a collection process misses them.

Which rows to under-sample was chosen by measurement (10,000 Adult rows, 25% test, the
baseline model, seed 0): under-sampling *all* of a group's rows leaves its test error where
it was, because the model's rule transfers between groups (women: 7.7% error with 2% of
their rows kept vs 7.8% with all of them; Black people: 7.1% vs 7.5%; under-30s: 6.4% vs
6.3%). What does hurt a group is missing *the part of it that differs*: keeping only 5% of
the over-50s who earn more than $50K raised the over-50s' error from 17.9% to 28.3% while
everyone else stayed at 12.5-12.9% (women's high earners: 7.8% -> 8.0%, too few to matter).
So the default under-samples the over-50s' high earners (``label_value=">50K"``): a data
gap a team can close by collecting, and one that a random sample closes only by luck.

The pool is drawn like the world, not enriched with the rows training missed: random rows
from it are then exactly "collect more data as it comes", the fair control. (An earlier
design put every left-out row into the pool; they made up 16% of it, random rows brought
dozens of them, and over 10 seeds targeted collection beat random in too few to show.) In
the natural pool the under-covered rows are about 7%, so a random budget of 300 brings about
20 of them; the suggestion engine, which labels first the rows that look like the audit
set's failures, brought 56-129 in 9 of 10 seeds (``python -m benchmarks bias``).

Examples
--------
>>> split = make_biased_split(n_rows=2000, seed=0)
>>> split.kept, split.left_out
(1, 37)
>>> split.hidden_label in split.pool.columns, split.target in split.pool.columns
(True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from .datasets import load_dataset
from .errors import DataError, check_fraction, check_int

__all__ = ["BiasedSplit", "make_biased_split", "AGE_BANDS"]

AGE_BANDS = ((0, 30, "under 30"), (30, 50, "30-49"), (50, 200, "50+"))
"""``age_band`` groups added to a table with an ``age`` column: age is a protected attribute
in employment law, and a band reads better in a story than a threshold."""


@dataclass(frozen=True)
class BiasedSplit:
    """Train, pool and test frames of one biased sampling, and what was done to make them.

    ``train``, ``audit`` and ``test`` carry the ``target`` column; ``audit`` and ``test`` are
    drawn from the natural distribution (``audit`` is where the deployed model's failures are
    looked for, ``test`` where the result is measured, so the two never mix); ``pool`` is
    drawn from the natural distribution too and carries the true labels only in
    ``hidden_label``, which a simulated annotator reads and a model must never see. Every
    frame has a fresh 0..n-1 index. ``kept`` and ``left_out`` count the under-sampled rows
    (the group, or its rows with ``label_value``) kept in training and left out of it.
    """

    train: pd.DataFrame
    pool: pd.DataFrame
    audit: pd.DataFrame
    test: pd.DataFrame
    target: str
    groups: tuple[str, ...]
    hidden_label: str
    group_column: str
    group_value: str
    label_value: str | None
    keep_share: float
    kept: int
    left_out: int
    seed: int
    description: str

    @property
    def who(self) -> str:
        """The under-sampled rows in words, e.g. ``age_band = 50+ with income = >50K``."""
        who = f"{self.group_column} = {self.group_value}"
        return who + (f" with {self.target} = {self.label_value}" if self.label_value else "")

    def in_group(self, frame: pd.DataFrame) -> np.ndarray:
        """Boolean mask of ``frame``'s rows in the chosen group."""
        return (frame[self.group_column].astype(str) == self.group_value).to_numpy()


def _with_age_band(frame: pd.DataFrame) -> pd.DataFrame:
    if "age" not in frame.columns or "age_band" in frame.columns:
        return frame
    band = pd.Series(pd.NA, index=frame.index, dtype=object)
    for low, high, name in AGE_BANDS:
        band[(frame["age"] >= low) & (frame["age"] < high)] = name
    return frame.assign(age_band=band.astype(str))


def make_biased_split(dataset: str = "adult", group_column: str = "age_band",
                      group_value: str = "50+", keep_share: float = 0.02, *,
                      label_value: str | None = ">50K", n_rows: int | None = 12_000,
                      test_share: float = 0.25, audit_share: float = 0.2,
                      pool_share: float = 0.5,
                      seed: int = 0) -> BiasedSplit:
    """Split a real table into a skewed training set, a pool and a natural test set.

    Parameters
    ----------
    dataset : str, default "adult"
        A built-in dataset with group columns (``load_dataset``); an ``age`` column also
        gives an ``age_band`` group (``AGE_BANDS``).
    group_column, group_value : str, default "age_band", "50+"
        The group to under-sample.
    keep_share : float, default 0.02
        Share of the group's rows (or of its rows with ``label_value``) kept in training,
        in (0, 1); the rest go to the pool.
    label_value : str or None, default ">50K"
        Under-sample only the group's rows with this label (the default, measured to give a
        real gap; see the module docstring); None under-samples all of the group's rows.
    n_rows : int or None, default 12,000
        A seeded random subsample of the table, so that a demo runs in tens of seconds
        (the whole Adult table has 32,561 rows); None keeps every row.
    test_share : float, default 0.25
        Share held out as the test set, stratified by the label, from the natural
        distribution, before anything is under-sampled.
    audit_share : float, default 0.2
        Share held out, also from the natural distribution, as a labelled audit set. The
        skewed training set cannot reveal its own gap: the rows that would be errors are the
        rows it lacks (measured: with 2% kept, the over-50s' out-of-fold training error was
        *below* the others'), so failures are looked for on representative rows.
    pool_share : float, default 0.5
        Share of the rows outside test and audit that form the pool, drawn at random (the
        natural distribution) before training is under-sampled, so a random sample from the
        pool is a fair control.
    seed : int, default 0
        Seeds the subsample, the test split and the under-sampling: same seed, same frames.

    Returns
    -------
    BiasedSplit
    """
    owner = "make_biased_split"
    keep_share = check_fraction(keep_share, name="keep_share", owner=owner)
    test_share = check_fraction(test_share, name="test_share", owner=owner)
    audit_share = check_fraction(audit_share, name="audit_share", owner=owner,
                                 high=1 - test_share)
    pool_share = check_fraction(pool_share, name="pool_share", owner=owner)
    seed = check_int(seed, name="seed", owner=owner, low=0, high=2**32 - 1)
    source = load_dataset(dataset, seed=seed)
    frame = _with_age_band(source.frame)
    target = source.target
    if group_column not in frame.columns:
        raise DataError(f"The dataset '{dataset}' has no column '{group_column}'; choose a "
                        f"group column from {[c for c in frame.columns if c != target]}.")
    groups = tuple(dict.fromkeys([*source.groups, group_column]
                                 + (["age_band"] if "age_band" in frame.columns else [])))
    subsample_seed, split_seed, sample_seed = np.random.SeedSequence(seed).generate_state(3)
    if n_rows is not None:
        n_rows = check_int(n_rows, name="n_rows", owner=owner, low=200)
        if n_rows < len(frame):
            chosen = np.random.default_rng(subsample_seed).choice(len(frame), n_rows,
                                                                  replace=False)
            frame = frame.iloc[np.sort(chosen)]
    frame = frame.reset_index(drop=True)
    rest, test = train_test_split(frame, test_size=test_share, stratify=frame[target],
                                  random_state=int(split_seed))
    rest, audit = train_test_split(rest, test_size=audit_share / (1 - test_share),
                                   stratify=rest[target], random_state=int(split_seed))
    rest = rest.sort_index()
    rng = np.random.default_rng(sample_seed)
    in_pool = np.zeros(len(rest), dtype=bool)
    in_pool[rng.choice(len(rest), round(pool_share * len(rest)), replace=False)] = True
    recorded = rest[~in_pool]
    chosen_rows = recorded[group_column].astype(str) == str(group_value)
    if label_value is not None:
        chosen_rows &= recorded[target].astype(str) == str(label_value)
    chosen_rows = chosen_rows.to_numpy()
    if chosen_rows.sum() < 2:
        raise DataError(f"Only {int(chosen_rows.sum())} training rows have {group_column} = "
                        f"{group_value!r}" + (f" and {target} = {label_value!r}" if label_value
                                               else "")
                        + "; choose a group (and label) that the dataset holds.")
    targeted = np.flatnonzero(chosen_rows)
    kept = max(1, round(keep_share * len(targeted)))
    in_train = np.ones(len(recorded), dtype=bool)
    in_train[rng.permutation(targeted)[kept:]] = False
    hidden = f"true_{target}"
    pool = rest[in_pool].rename(columns={target: hidden}).reset_index(drop=True)
    split = BiasedSplit(
        train=recorded[in_train].reset_index(drop=True), pool=pool,
        audit=audit.sort_index().reset_index(drop=True),
        test=test.sort_index().reset_index(drop=True), target=target, groups=groups,
        hidden_label=hidden, group_column=group_column, group_value=str(group_value),
        label_value=None if label_value is None else str(label_value),
        keep_share=keep_share, kept=kept, left_out=len(targeted) - kept, seed=seed,
        description="")
    return _described(split, dataset, len(frame))


def _described(split: BiasedSplit, dataset: str, n_rows: int) -> BiasedSplit:
    """The split with its one-paragraph description filled in from its own counts."""
    share_train = split.in_group(split.train).mean()
    share_test = split.in_group(split.test).mean()
    text = (f"{n_rows:,} rows of '{dataset}': a test set of {len(split.test):,} rows and an "
            f"audit set of {len(split.audit):,} rows from the natural distribution; a training set of {len(split.train):,} rows that keeps "
            f"only {split.kept:,} of the {split.kept + split.left_out:,} rows with {split.who} "
            f"({split.keep_share:.0%}); and a pool of {len(split.pool):,} unlabelled rows, "
            f"also from the natural distribution (true labels hidden in "
            f"'{split.hidden_label}'). {split.group_column} = "
            f"{split.group_value} is {share_train:.1%} of training rows and {share_test:.1%} "
            f"of test rows.")
    return BiasedSplit(**{**split.__dict__, "description": text})
