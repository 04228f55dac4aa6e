"""Planted weak regions that no one rule describes, for the region search's hardest tests.

:func:`make_shapes` builds a table of standardized numeric columns and two categories whose
given ``prediction`` is wrong ``base_error`` of the time, except inside the planted regions,
where a share ``region_error`` of the labels was corrupted (the prediction keeps the clean
label, so those rows are errors). The shapes are the places a rule finder misses and a
search in the model's own space must not:

- ``"ellipse"``: a thin tilted ellipsoid in ``c1, c2, c3`` (about 7% of rows), thin across
  ``c1 - c2``; no axis cut and no half-space follows it.
- ``"ellipsoid"``: a flat ellipsoid in ``c4, c5, c6`` (about 7% of rows), a disc whose thin
  axis ``c4 + c5 - c6`` is tilted against all three columns, so no pair of them shows it
  sharply either.
- ``"blobs"``: three compact clusters in the eight numeric columns, 2% of rows each: rows
  drawn around three centres with a spread of ``BLOB_SPREAD``, as an embedding's clusters
  are; no column cut isolates one.
- ``"slices"``: three small rule slices at once (about 3-5% each), so they must come back
  as three regions, not one lump.
- ``"interaction"``: ``flag = yes and cue < -1`` or ``flag = no and cue > 1``: errors with
  no one-column effect.
Without kinds (``kinds=()``) the errors are uniform noise: a search must find nothing.

Examples
--------
>>> data = make_shapes(2000, "blobs", seed=0)
>>> sorted(data.planted), [len(rows) for rows in data.planted.values()]
(['blob 1', 'blob 2', 'blob 3'], [40, 40, 40])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .datasets import Dataset
from .errors import check_choice, check_fraction, check_int

__all__ = ["make_shapes", "SHAPE_KINDS"]

SHAPE_KINDS = ("ellipse", "ellipsoid", "blobs", "slices", "interaction")
NUMERIC = tuple(f"c{i}" for i in range(1, 9))
BLOB_SHARE = 0.02
BLOB_SPREAD = 0.35
"""Standard deviation of a cluster around its centre, per column (the table's is 1)."""
BLOB_CENTRES = np.array([[1.2, 0.8, 0, -0.8, 0, 0.6, 0, 0], [0, -1.0, -1.2, 0, 0.8, 0, 0.6, 0],
                         [-0.8, 0, 0.8, 0, -1.0, 0, 0, -1.0]])
"""Centres inside the bulk of the data (1.5-1.9 sd from its centre, each about 2.5 sd from
the others), so a cluster is dense but not an outlier that any tail would catch."""
SLICE_RULES = {"slice group = a and c4 > 1.1": "group == 'a' and c4 > 1.1",
               "slice flag = yes and c5 < -1.3": "flag == 'yes' and c5 < -1.3",
               "slice c6 > 1.9": "c6 > 1.9"}
"""Three slices, about 3-5% of rows each, described by different columns."""


def make_shapes(n_rows: int = 6000, kinds=SHAPE_KINDS, *, seed: int = 0,
                base_error: float = 0.08, region_error: float = 0.4) -> Dataset:
    """A table with planted weak regions of the given shapes (see the module docstring).

    Parameters
    ----------
    n_rows : int, default 6000
    kinds : str or sequence of str, default every kind in ``SHAPE_KINDS``
        ``()`` gives uniform-noise errors.
    seed : int, default 0
    base_error, region_error : float, default 0.08 and 0.4
        Error rate outside and inside the planted regions.

    Returns
    -------
    Dataset
        Columns ``c1``-``c8``, ``cue``, ``flag``, ``group``, ``label``, ``prediction``;
        ``planted`` maps each planted region's name to its rows.
    """
    owner = "make_shapes"
    n_rows = check_int(n_rows, name="n_rows", owner=owner, low=200)
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    for kind in kinds:
        check_choice(kind, name="kinds", owner=owner, choices=SHAPE_KINDS)
    seed = check_int(seed, name="seed", owner=owner, low=0)
    base_error = check_fraction(base_error, name="base_error", owner=owner)
    region_error = check_fraction(region_error, name="region_error", owner=owner)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.standard_normal((n_rows, len(NUMERIC))), columns=list(NUMERIC))
    frame["cue"] = rng.standard_normal(n_rows)
    frame["flag"] = rng.choice(["yes", "no"], n_rows)
    frame["group"] = rng.choice(["a", "b", "c", "d"], n_rows)
    planted: dict[str, np.ndarray] = {}
    for kind in dict.fromkeys(kinds):
        planted.update(_planted(kind, frame, rng))
    logit = 1.5 * frame["c1"] - 1.0 * frame["c7"] + 0.8 * frame["cue"]
    frame["label"] = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(np.int64)
    in_region = np.zeros(n_rows, dtype=bool)
    for rows in planted.values():
        in_region[rows] = True
    wrong = rng.random(n_rows) < np.where(in_region, region_error, base_error)
    frame["prediction"] = np.where(wrong, 1 - frame["label"], frame["label"])
    where = ", ".join(planted) or "nowhere (uniform noise)"
    return Dataset(name="shapes", title="Planted shapes (synthetic)", frame=frame,
                   target="label", prediction="prediction", groups=(), source="generated",
                   planted=planted,
                   description=f"Synthetic rows whose given prediction is wrong "
                               f"{base_error:.0%} of the time, {region_error:.0%} in: "
                               f"{where}.")


def _planted(kind: str, frame: pd.DataFrame, rng: np.random.Generator
             ) -> dict[str, np.ndarray]:
    if kind == "ellipse":
        along = (frame["c1"] + frame["c2"]) / np.sqrt(2)
        across = (frame["c1"] - frame["c2"]) / np.sqrt(2)
        inside = (along / 1.5) ** 2 + (across / 0.2) ** 2 + (frame["c3"] / 1.3) ** 2 <= 1
        return {"ellipse": np.flatnonzero(inside.to_numpy())}
    if kind == "ellipsoid":
        points = frame[["c4", "c5", "c6"]].to_numpy()
        thin = points @ np.array([1, 1, -1]) / np.sqrt(3)
        broad = points @ np.array([1, -1, 0]) / np.sqrt(2)
        other = points @ np.array([1, 1, 2]) / np.sqrt(6)
        # half-axes 0.2 across, 1.5 and 1.2 along: about 7% of rows, like the ellipse
        inside = (thin / 0.2) ** 2 + (broad / 1.5) ** 2 + (other / 1.2) ** 2 <= 1
        return {"ellipsoid": np.flatnonzero(inside)}
    if kind == "blobs":
        size = max(1, round(BLOB_SHARE * len(frame)))
        chosen = rng.choice(len(frame), (len(BLOB_CENTRES), size), replace=False)
        for rows, centre in zip(chosen, BLOB_CENTRES):
            frame.loc[rows, list(NUMERIC)] = centre + BLOB_SPREAD * rng.standard_normal(
                (size, len(NUMERIC)))
        return {f"blob {i + 1}": np.sort(rows) for i, rows in enumerate(chosen)}
    if kind == "slices":
        return {name: np.flatnonzero(frame.eval(rule).to_numpy())
                for name, rule in SLICE_RULES.items()}
    inside = ((frame["flag"] == "yes") & (frame["cue"] < -1)) | \
        ((frame["flag"] == "no") & (frame["cue"] > 1))
    return {"interaction": np.flatnonzero(inside.to_numpy())}
