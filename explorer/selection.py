"""Describe an arbitrary set of rows a person picked (a lasso on the map), and keep it.

The region search (``regions.py``) finds and tests regions itself; a person looking at the
map picks rows by eye. This module answers the same questions for such a pick (how big, how
wrong, is that more than chance, what do the rows have in common) by building a
:class:`~explorer.types.Region` and handing it to the same describer, so a saved selection
reads exactly like a found region. It never imports Streamlit: the app calls it and the tests
call it directly.

A selection drawn after looking at where the errors are is not a pre-registered hypothesis,
so its p-value is optimistic; :data:`SELECTION_CAVEAT` says so wherever it is shown.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.stats import fisher_exact

from .describe import describe_regions
from .errors import ParameterError, WorkspaceError, check_choice
from .files import exclusive_lock, json_text, write_text_atomically
from .regions import neighbour_compactness
from .rules import RuleFeatures
from .stats import wilson_interval
from .types import Region

__all__ = ["describe_selection", "save_user_region", "load_user_regions", "SELECTION_CAVEAT",
           "rows_in_shapes", "combine", "map_compactness", "MODES"]

MODES = ("replace", "add", "subtract")
"""How a new pick meets the current selection: replace it, add to it, or take from it."""

SELECTION_CAVEAT = ("The p-value tests this selection against the rest of the rows. You chose "
                    "it after seeing the map, so it is optimistic: confirm a pattern on new "
                    "data before acting on it.")

USER_REGIONS_FILE = "user_regions.json"
LOCK_TIMEOUT = 30.0


def describe_selection(analysis, rows, *, region_id: int = -1) -> Region:
    """Return the selected rows as a described :class:`Region` (a user region).

    Parameters
    ----------
    analysis : Analysis
        The run the rows come from.
    rows : array-like of int
        0-based row positions; duplicates are dropped and the order is irrelevant.
    region_id : int
        Id given to the region; -1 (the default) marks an unsaved selection.

    Returns
    -------
    Region
        ``error_rate`` over the selected rows, ``baseline_error_rate`` over all rows,
        ``p_value`` from a two-sided Fisher exact test of selected vs the other rows, the
        Wilson 95 % interval of the error rate, and the same rule, contrasts, group shares,
        confusions and example rows a found region gets. ``found_by`` is ``"selection"``.

    Raises
    ------
    ParameterError
        When ``rows`` is empty or holds a position outside the data.
    """
    n_rows = len(analysis.data)
    rows = np.unique(np.asarray(rows, dtype=np.int64).ravel())
    if rows.size == 0:
        raise ParameterError("The selection is empty; select at least one point on the map.")
    if rows[0] < 0 or rows[-1] >= n_rows:
        raise ParameterError(f"The selection holds row positions outside [0, {n_rows - 1}]: "
                             f"got {int(rows[0])} to {int(rows[-1])}.")
    is_error = np.asarray(analysis.predictions.is_error, dtype=bool)
    members = np.zeros(n_rows, dtype=bool)
    members[rows] = True
    errors_in, errors_out = int(is_error[members].sum()), int(is_error[~members].sum())
    size, rest = int(rows.size), int(n_rows - rows.size)
    error_rate = errors_in / size
    baseline = float(is_error.mean())
    if rest:
        table = [[errors_in, size - errors_in], [errors_out, rest - errors_out]]
        p_value = float(fisher_exact(table).pvalue)
    else:  # everything selected: nothing to compare with
        p_value = 1.0
    region = Region(
        id=region_id, rows=rows, size=size, error_rate=error_rate,
        baseline_error_rate=baseline,
        lift=error_rate / baseline if baseline > 0 else float("nan"),
        p_value=p_value, heldout_error_rate=error_rate, heldout_size=size,
        heldout_interval=wilson_interval(errors_in, size), compactness=float("nan"),
        excess_errors=size * (error_rate - baseline), found_by="selection")
    return describe_regions([region], analysis.data, analysis.schema, analysis.predictions,
                            analysis.map, RuleFeatures.from_frame(analysis.data, analysis.schema),
                            seed=analysis.seed)[0]


def rows_in_shapes(coords: np.ndarray, boxes=(), lassos=()) -> np.ndarray:
    """Rows whose map position lies inside any drawn box or lasso (sorted positions).

    A plotly selection lists only the points it drew and showed; reading the shapes
    instead counts every row inside them, including rows thinned from the drawing and rows
    of a legend class the person hid, so a selection never shrinks silently.
    ``boxes`` and ``lassos`` are plotly's selection shapes: dicts with ``x`` and ``y`` lists
    (a box's two corners; a lasso's vertices).
    """
    coords = np.asarray(coords, dtype=float)
    inside = np.zeros(len(coords), dtype=bool)
    for box in boxes:
        (x0, x1), (y0, y1) = sorted(box["x"][:2]), sorted(box["y"][:2])
        inside |= ((coords[:, 0] >= x0) & (coords[:, 0] <= x1)
                   & (coords[:, 1] >= y0) & (coords[:, 1] <= y1))
    for lasso in lassos:
        inside |= _in_polygon(coords, np.column_stack([lasso["x"], lasso["y"]]).astype(float))
    return np.flatnonzero(inside)


def _in_polygon(points: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """Even-odd rule: a point is inside when a ray to its right crosses the edges an odd
    number of times (one pass per edge, vectorised over the points)."""
    inside = np.zeros(len(points), dtype=bool)
    x, y = points[:, 0], points[:, 1]
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0)):
        spans = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            crossing = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= spans & (x < crossing)
    return inside


def combine(current, picked, mode: str) -> np.ndarray:
    """The selection after a new pick: ``replace``, ``add`` (union) or ``subtract``."""
    mode = check_choice(mode, name="mode", owner="combine", choices=MODES)
    current, picked = np.asarray(current, dtype=np.int64), np.asarray(picked, dtype=np.int64)
    if mode == "replace":
        return np.unique(picked)
    if mode == "add":
        return np.union1d(current, picked)
    return np.setdiff1d(current, picked)


def map_compactness(region: Region, coords: np.ndarray, seed: int) -> float:
    """How much the region is one place on a 2-D map: the mean share of its members' nearest
    map neighbours that are members (``regions.neighbour_compactness`` on the map)."""
    members = np.zeros(len(coords), dtype=bool)
    members[np.asarray(region.rows, dtype=int)] = True
    return neighbour_compactness(members, np.asarray(coords, dtype=float), seed)


def load_user_regions(folder) -> list[dict]:
    """Return the saved user regions of a project folder (``[]`` when none were saved).

    Each entry has ``id``, ``name``, ``description``, ``size``, ``error_rate`` and ``rows``.
    """
    path = Path(folder) / USER_REGIONS_FILE
    if not path.exists():
        return []
    try:
        return json.loads(path.read_text(encoding="utf-8"))["regions"]
    except (OSError, ValueError, KeyError) as exc:
        raise WorkspaceError(f"The saved regions file '{path}' is damaged ({exc}); delete it "
                             f"to start again.") from None


def save_user_region(folder, region: Region, name: str) -> dict:
    """Append a described selection to the project's saved regions and return its entry.

    The entry gets the next free id (user regions are numbered from 1, apart from the
    analysis' own regions by their ``U`` prefix in the app). The file is replaced atomically
    under a lock, so a reader never sees half a file and concurrent savers never lose one.
    """
    name = name.strip() or f"selection of {region.size} rows"
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(folder / f".{USER_REGIONS_FILE}.lock", timeout=LOCK_TIMEOUT,
                        busy_message="Another tab is saving a region; try again."):
        regions = load_user_regions(folder)
        entry = {"id": max((r["id"] for r in regions), default=0) + 1, "name": name,
                 "description": region.description, "rule": region.rule,
                 "size": int(region.size), "error_rate": float(region.error_rate),
                 "p_value": float(region.p_value),
                 "rows": [int(r) for r in region.rows]}
        regions.append(entry)
        write_text_atomically(folder / USER_REGIONS_FILE,
                              json_text({"version": 1, "regions": regions}))
    return entry
