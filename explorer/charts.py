"""Plotly figures shared by the Streamlit app and the HTML report.

Every function takes an :class:`~explorer.analysis.Analysis` (or one of its regions) and
returns a ``plotly.graph_objects.Figure``; none of them imports Streamlit, so the report and
the tests draw exactly what the app draws.

Map traces carry the 0-based row position as ``customdata[0]`` on every point, so a face
that reads a plotly selection maps it back to rows without knowing how the map was thinned.
"""

from __future__ import annotations

import html
import textwrap

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy.spatial import ConvexHull, QhullError

from .errors import ParameterError, check_int

__all__ = ["map_figure", "drawn_rows", "region_error_figure", "group_share_figure", "color_options",
           "COLUMN_PREFIX",
           "group_error_figure", "group_representation_figure"]

MAX_CATEGORIES = 20
"""A categorical colouring shows this many most frequent values; the rest become 'other'."""
HOVER_TEXT_CHARACTERS = 240
"""A text in a hover label is cut here: about four lines, enough to recognise it."""
HOVER_LINE_WIDTH = 60
"""Characters per line of a hover label's text: a label stays narrower than the map."""
LABEL_GAP = 0.06
"""Region labels whose points lie closer than this share of the map's extent would cover
each other: the later one is moved aside on a short arrow."""
LABEL_OFFSETS = ((0, -34), (36, -22), (-36, -22), (36, 22), (-36, 22), (0, 34))
"""Where a moved label goes, in pixels from its point, tried in turn (then again, farther)."""

_GREY = "#c4c9d0"
_FADED = "rgba(196,201,208,0.35)"
"""Rows outside a region shown alone: visible as context, never mistaken for members."""
COLUMN_PREFIX = "column:"
_RED = "#d6336c"
_PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
            "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39",
            "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1", "#636363", "#969696"]
_LAYOUT = dict(template="plotly_white", margin=dict(l=40, r=20, t=60, b=40),
               legend=dict(itemsizing="constant"))


def color_options(analysis) -> list[str]:
    """Return the values ``map_figure`` accepts for ``color_by``, built-ins first.

    A data column is offered as ``column:NAME``, so a user's column called ``region`` or
    ``error`` is a choice of its own, never hidden behind the built-in of that name.
    """
    options = ["error", "region"]
    if analysis.predictions.probabilities is not None:
        options.append("confidence")
    return options + [f"{COLUMN_PREFIX}{c}" for c in analysis.data.columns]


def map_figure(analysis, color_by: str = "error", *, max_points: int = 50_000,
               selected_region: int | None = None, highlight=None) -> go.Figure:
    """Draw the 2-D map of every row, coloured by error, region, confidence or a column.

    Parameters
    ----------
    analysis : Analysis
        The run to draw.
    color_by : str
        ``"error"`` (wrong vs right, or the per-row loss for regression), ``"region"``,
        ``"confidence"`` (highest class probability, when probabilities exist) or
        ``"column:NAME"`` for a column of ``analysis.data`` (numeric columns get a
        continuous scale, others one colour per value); see :func:`color_options`.
    max_points : int
        Browsers slow down past tens of thousands of WebGL points, and every drawn point
        is sent to the browser, so larger maps are thinned for drawing only: region members
        and errors are kept first, the rest are sampled with the analysis seed, and the
        title says how many points are shown.
    selected_region : int, optional
        Show this region alone: its members coloured, every other row grey, its outline
        (the convex hull of its members) drawn and only its label shown.
    highlight : array of int, optional
        Row positions to ring in black (a person's selection), those among the drawn points.

    Each point carries its row position as ``customdata[0]`` and ``true -> predicted`` (and
    its region) as ``text``: numbers travel to the browser as compact binary arrays, so a
    100,000-row map stays a few megabytes at most.
    """
    points = analysis.points
    keep = drawn_rows(analysis, max_points)
    values, continuous, label = _color_values(analysis, color_by)
    rows = points["row"].to_numpy().astype(np.int32)[keep].reshape(-1, 1)
    text = _hover_text(analysis, points)[keep]
    x = points["x"].to_numpy(dtype=np.float32)[keep]
    y = points["y"].to_numpy(dtype=np.float32)[keep]
    size = 4 if len(keep) > 5_000 else 6
    value_hover = "%{marker.color:.3g}" if continuous else "%{fullData.name}"
    hover = ("row %{customdata[0]}<br>true → predicted: %{text}<br>" + label + ": "
             + value_hover + "<extra></extra>")
    if analysis.schema.text is not None:  # the text itself, as an image would be shown
        texts = _hover_texts(analysis.data[analysis.schema.text].to_numpy()[keep])
        text = np.array([f"{short}<br>{words}" for short, words in zip(text, texts)],
                        dtype=object)
    focus = np.ones(len(keep), dtype=bool)
    fig = go.Figure()
    if selected_region is not None:
        members = np.zeros(len(points), dtype=bool)
        members[np.asarray(_region_by_id(analysis, selected_region).rows, dtype=int)] = True
        focus = members[keep]
        fig.add_trace(go.Scattergl(
            x=x[~focus], y=y[~focus], mode="markers", name="other rows",
            customdata=rows[~focus], text=text[~focus],
            hovertemplate="row %{customdata[0]}<br>true → predicted: %{text}<extra></extra>",
            marker=dict(size=size, color=_FADED)))
    if continuous:
        fig.add_trace(go.Scattergl(
            x=x[focus], y=y[focus], mode="markers", customdata=rows[focus], text=text[focus],
            hovertemplate=hover, showlegend=False,
            marker=dict(size=size, color=values[keep][focus].astype(np.float32),
                        colorscale="Viridis", colorbar=dict(title=label))))
    else:
        shown = values[keep]
        for index, category in enumerate(pd.unique(shown)):
            mask = (shown == category) & focus
            if mask.any():
                fig.add_trace(go.Scattergl(
                    x=x[mask], y=y[mask], mode="markers", name=str(category),
                    customdata=rows[mask], text=text[mask], hovertemplate=hover,
                    marker=dict(size=size, color=_category_color(color_by, category, index))))
    if highlight is not None and len(highlight):
        ringed = np.isin(keep, np.asarray(highlight, dtype=np.int64))
        fig.add_trace(go.Scattergl(
            x=x[ringed], y=y[ringed], mode="markers", name="your selection",
            customdata=rows[ringed], hoverinfo="skip",
            marker=dict(size=size + 5, color="rgba(0,0,0,0)",
                        line=dict(color="#111", width=1.5))))
    _draw_regions(fig, analysis, selected_region)
    title = f"Map of {len(points):,} rows, coloured by {label}"
    if selected_region is not None:
        title += f"; region R{selected_region} alone"
    if len(keep) < len(points):
        title += f" (showing {len(keep):,} of {len(points):,} points)"
    hidden = dict(showticklabels=False, showgrid=False, zeroline=False, title="")
    fig.update_layout(title=title, xaxis=hidden, yaxis=hidden, dragmode="lasso", **_LAYOUT)
    return fig


def _region_by_id(analysis, region_id: int):
    for region in analysis.regions:
        if region.id == region_id:
            return region
    raise ParameterError(f"The 'selected_region' parameter of map_figure must be the id of "
                         f"a region of this analysis, one of "
                         f"{[r.id for r in analysis.regions]}. Got {region_id!r} instead.")


def drawn_rows(analysis, max_points: int) -> np.ndarray:
    """The sorted row positions :func:`map_figure` draws with this ``max_points``."""
    max_points = check_int(max_points, name="max_points", owner="map_figure", low=1)
    priority = (analysis.points["region"].to_numpy() != -1) | np.asarray(
        analysis.predictions.is_error, dtype=bool)
    return _thin(priority, max_points, analysis.seed)


def _thin(priority: np.ndarray, max_points: int, seed: int) -> np.ndarray:
    """Return sorted positions to draw: every priority point first, then a seeded sample."""
    n = len(priority)
    if n <= max_points:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    important, rest = np.flatnonzero(priority), np.flatnonzero(~priority)
    if len(important) >= max_points:
        chosen = rng.choice(important, max_points, replace=False)
    else:
        chosen = np.concatenate([important,
                                 rng.choice(rest, max_points - len(important), replace=False)])
    return np.sort(chosen)


def _color_values(analysis, color_by: str) -> tuple[np.ndarray, bool, str]:
    """Return (one value per row, whether the scale is continuous, a label for it)."""
    predictions = analysis.predictions
    if color_by == "error":
        if analysis.schema.is_classification:
            return np.where(predictions.is_error, "wrong", "right").astype(object), False, \
                "error"
        return np.asarray(predictions.error, dtype=float), True, "loss"
    if color_by == "region":
        region = analysis.points["region"].to_numpy()
        return np.array(["none" if r == -1 else f"region {r}" for r in region],
                        dtype=object), False, "region"
    if color_by == "confidence" and predictions.probabilities is not None:
        return np.asarray(predictions.probabilities, dtype=float).max(axis=1), True, \
            "confidence"
    name = color_by[len(COLUMN_PREFIX):] if color_by.startswith(COLUMN_PREFIX) else None
    if name not in analysis.data.columns:
        allowed = ", ".join(repr(c) for c in color_options(analysis)[:25])
        raise ParameterError(f"The 'color_by' parameter of map_figure must be one of "
                             f"{allowed}. Got {color_by!r} instead.")
    column = analysis.data[name]
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=float, na_value=np.nan), True, name
    text = column.astype(object).where(column.notna(), "missing").astype(str)
    frequent = text.value_counts().index[:MAX_CATEGORIES]
    return text.where(text.isin(frequent), "other").to_numpy(dtype=object), False, name


def _category_color(color_by: str, category, index: int) -> str:
    if category in ("none", "missing", "other", "right"):
        return _GREY
    if category == "wrong":
        return _RED
    return _PALETTE[index % len(_PALETTE)]


def _hover_text(analysis, points: pd.DataFrame) -> np.ndarray:
    """``true -> predicted`` of every row, with its region when it has one (``1 → 0 · R2``).

    Short on purpose: each drawn point's text is sent to the browser."""
    region = points["region"].to_numpy()
    true = _as_text(analysis.data[analysis.schema.target].to_numpy())
    predicted = _as_text(np.asarray(analysis.predictions.predicted))
    where = np.where(region == -1, "", np.char.add(" · R", region.astype(str)))
    return np.char.add(np.char.add(np.char.add(true.astype(str), " → "),
                                   predicted.astype(str)), where.astype(str)).astype(object)


def _as_text(values: np.ndarray) -> np.ndarray:
    """Format numbers compactly (3 significant digits for floats) for hover labels."""
    if np.issubdtype(np.asarray(values).dtype, np.floating):
        return np.array([f"{v:.3g}" for v in values], dtype=object)
    return np.asarray(values).astype(str).astype(object)


def _hover_texts(texts: np.ndarray) -> np.ndarray:
    """Texts for a hover label: cut at ``HOVER_TEXT_CHARACTERS``, broken into short lines,
    with HTML's special characters escaped (plotly renders hover labels as HTML)."""
    def shown(text) -> str:
        text = "" if pd.isna(text) else str(text)
        cut = text[:HOVER_TEXT_CHARACTERS] + ("…" if len(text) > HOVER_TEXT_CHARACTERS else "")
        return "<br>".join(html.escape(line) for line in textwrap.wrap(cut, HOVER_LINE_WIDTH))

    return np.array([shown(text) for text in texts], dtype=object)


def _draw_regions(fig: go.Figure, analysis, selected_region: int | None) -> None:
    """Label every region (or the selected one alone) with its id at its most central
    member, a point of the region even when its rows lie on two islands (where their median
    would fall in the empty space between); a label that would cover an earlier one moves
    aside on an arrow. Outline the selected one."""
    coords = np.asarray(analysis.map.coords)
    extent = float(np.ptp(coords, axis=0).max()) if len(coords) else 1.0
    placed: list[np.ndarray] = []
    for region in analysis.regions:
        if selected_region is not None and region.id != selected_region:
            continue  # a region shown alone: the other labels would point at grey rows
        members = coords[np.asarray(region.rows, dtype=int)]
        if len(members) == 0:
            continue
        point = members[np.argmin(np.linalg.norm(members - np.median(members, axis=0), axis=1))]
        crowded = sum(np.linalg.norm(point - other) < LABEL_GAP * extent for other in placed)
        placed.append(point)
        ax, ay = (0, 0)
        if crowded:
            ax, ay = LABEL_OFFSETS[(crowded - 1) % len(LABEL_OFFSETS)]
            ax, ay = np.multiply((ax, ay), 1 + (crowded - 1) // len(LABEL_OFFSETS))
        selected = region.id == selected_region
        fig.add_annotation(x=point[0], y=point[1], text=f"<b>R{region.id}</b>",
                           showarrow=bool(crowded), ax=int(ax), ay=int(ay), arrowcolor="#333",
                           arrowwidth=1, font=dict(size=15 if selected else 12, color="#111"),
                           bgcolor="rgba(255,255,255,0.75)", bordercolor="#333",
                           borderwidth=2 if selected else 1)
        if selected:
            _outline(fig, members, region.id)


def _outline(fig: go.Figure, members: np.ndarray, region_id: int) -> None:
    try:
        hull = ConvexHull(members)
    except (QhullError, ValueError):  # fewer than 3 points, or all on one line
        return
    ring = members[np.append(hull.vertices, hull.vertices[0])]
    fig.add_trace(go.Scatter(x=ring[:, 0], y=ring[:, 1], mode="lines", hoverinfo="skip",
                             name=f"region {region_id} outline",
                             line=dict(color="#111", width=2.5, dash="dash")))


def region_error_figure(analysis) -> go.Figure:
    """Bars of each region's tested error rate with its interval, against the baseline.

    The tested rate is the honest one: its rows played no part in finding the region (the
    held-out half; all rows of a cluster that no error chose).
    """
    fig = go.Figure()
    baseline = analysis.baseline_error_rate
    found = [r for r in analysis.regions if r.kind == "error"]  # gaps were not error-tested
    if found:
        rates = np.array([r.heldout_error_rate for r in found], dtype=float)
        low = np.array([r.heldout_interval[0] for r in found], dtype=float)
        high = np.array([r.heldout_interval[1] for r in found], dtype=float)
        fig.add_trace(go.Bar(
            x=[f"R{r.id}" for r in found], y=rates, marker_color=_RED,
            name="tested error rate",
            error_y=dict(type="data", array=high - rates, arrayminus=rates - low),
            customdata=np.column_stack([[r.size for r in found], low, high]),
            hovertemplate=("%{x}: %{y:.1%} (interval %{customdata[1]:.1%} to "
                           "%{customdata[2]:.1%}), %{customdata[0]} rows<extra></extra>")))
    else:
        fig.add_annotation(text="No region passed the test", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    fig.add_hline(y=baseline, line_dash="dash", line_color="#555",
                  annotation_text=f"baseline {baseline:.1%}", annotation_position="top left")
    fig.update_layout(title="Error rate per region (on the rows that tested it)", height=360,
                      bargap=max(0.2, 0.8 - 0.1 * len(found)),
                      yaxis=dict(tickformat=".0%", rangemode="tozero"), **_LAYOUT)
    return fig


def group_share_figure(region) -> go.Figure:
    """Horizontal bars: each group value's share inside the region against overall."""
    shares = region.group_shares
    labels = [f"{s.column} = {s.value}" for s in shares]
    fig = go.Figure([
        go.Bar(y=labels, x=[s.share_in_region for s in shares], orientation="h",
               name=f"in region {region.id}", marker_color=_RED),
        go.Bar(y=labels, x=[s.share_overall for s in shares], orientation="h",
               name="all rows", marker_color=_GREY),
    ])
    if not shares:
        fig.add_annotation(text="No group columns were given", showarrow=False, x=0.5, y=0.5,
                           xref="paper", yref="paper")
    fig.update_layout(title=f"Group composition of region {region.id}", barmode="group",
                      xaxis=dict(tickformat=".0%"), yaxis=dict(autorange="reversed"),
                      height=max(260, 60 + 40 * len(shares)), **_LAYOUT)
    return fig


def group_error_figure(table: pd.DataFrame, *, title: str = "Error rate per group") -> go.Figure:
    """Bars of each group's error rate with its interval, one colour per scenario.

    ``table`` has columns ``scenario`` (e.g. "before", "after targeted"), ``value`` (the
    group), ``error_rate``, ``ci_low`` and ``ci_high``, as ``explorer.groups`` returns them
    with a scenario column added; scenarios keep their order of first appearance.
    """
    fig = go.Figure()
    for index, (scenario, part) in enumerate(table.groupby("scenario", sort=False)):
        rate = part["error_rate"].to_numpy(dtype=float)
        fig.add_trace(go.Bar(
            x=part["value"].astype(str), y=rate, name=str(scenario),
            marker_color=_PALETTE[index % len(_PALETTE)],
            error_y=dict(type="data", array=part["ci_high"].to_numpy(dtype=float) - rate,
                         arrayminus=rate - part["ci_low"].to_numpy(dtype=float)),
            customdata=part[["ci_low", "ci_high"]].to_numpy(dtype=float),
            hovertemplate=(f"{scenario}<br>%{{x}}: %{{y:.1%}} (95% interval "
                           "%{customdata[0]:.1%} to %{customdata[1]:.1%})<extra></extra>")))
    fig.update_layout(title=title, barmode="group", height=380,
                      yaxis=dict(tickformat=".0%", rangemode="tozero", title="error rate"),
                      **_LAYOUT)
    return fig


def group_representation_figure(shares: pd.DataFrame, *, title: str = "Who is in the data"
                                ) -> go.Figure:
    """Bars of each group's share of several tables (e.g. training, pool, test).

    ``shares`` has columns ``table``, ``value`` and ``share``; a group much rarer in the
    training table than in the test table is under-sampled.
    """
    fig = go.Figure()
    for index, (name, part) in enumerate(shares.groupby("table", sort=False)):
        fig.add_trace(go.Bar(x=part["value"].astype(str), y=part["share"], name=str(name),
                             marker_color=[_RED, _GREY, _PALETTE[0], _PALETTE[2]][index % 4],
                             hovertemplate=f"{name}<br>%{{x}}: %{{y:.1%}}<extra></extra>"))
    fig.update_layout(title=title, barmode="group", height=340,
                      yaxis=dict(tickformat=".0%", rangemode="tozero", title="share of rows"),
                      **_LAYOUT)
    return fig
