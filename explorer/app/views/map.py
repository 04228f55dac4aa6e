"""Map page: every row on the 2-D map; show one region alone; select rows to describe,
test, download and save them.

The figure comes from ``explorer.charts.map_figure`` (shared with the HTML report). A pick
on the map (box, lasso or click) is turned into rows by ``selection.rows_in_shapes`` over
every row, so rows thinned from the drawing or in a hidden legend class count too; it is
combined with the current selection (replace, add, subtract) and kept in the session, so
it survives a colour change and a visit to another page.
"""

import json

import numpy as np
import pandas as pd
import streamlit as st

from explorer import charts
from explorer.app import media, state
from explorer.errors import ExplorerError
from explorer.selection import (MODES, SELECTION_CAVEAT, combine, describe_selection,
                                load_user_regions, map_compactness, rows_in_shapes,
                                save_user_region)

CHART_KEY = "map_selection"
SELECTED = "map_rows"  # the selection's row positions (ids only: small UI state)
LAST_PICK = "map_last_pick"  # the pick already applied, so a rerun does not apply it twice
# Points drawn at most: at 100,000 rows a 40,000-point figure is about 1.6 MB sent to the
# browser (measured: tests/test_export.py::test_a_100k_row_map_stays_under_2_mb); the
# analysis and selections use every row. (A comment: Streamlit would print a docstring.)
MAX_DRAWN = 40_000
MODE_NAMES = {"replace": "replaces the selection", "add": "adds to it",
              "subtract": "removes from it"}


def clicked_row(point: dict) -> int | None:
    """The row position a clicked point carries as ``customdata[0]``: a list, or, for the
    compact binary arrays the figure sends, an object keyed by index (``{'0': 17}``)."""
    data = point.get("customdata")
    if isinstance(data, dict):
        data = [data[key] for key in sorted(data, key=int)]
    if isinstance(data, (list, tuple)):
        data = data[0] if data else None
    return None if data is None else int(data)


settings, analysis = state.analysis_page("Map")
regions = {r.id: r for r in analysis.regions}

groups = set(analysis.schema.groups)
labels = {"error": "error (wrong vs right)", "region": "region",
          "confidence": "confidence (highest class probability)"}
options = charts.color_options(analysis)
builtin = [o for o in options if not o.startswith(charts.COLUMN_PREFIX)]
columns = [o for o in options if o.startswith(charts.COLUMN_PREFIX)]
options = builtin + sorted(columns, key=lambda c: c[len(charts.COLUMN_PREFIX):] not in groups)


def option_name(option: str) -> str:
    name = option[len(charts.COLUMN_PREFIX):]
    if option in labels:
        return labels[option]
    return f"group: {name}" if name in groups else f"column: {name}"


left, middle, right = st.columns([3, 3, 4])
color_by = state.remembered(left.selectbox, "map_color", "Colour by", options,
                            format_func=option_name)
focus = state.remembered(
    middle.selectbox, "map_focus", "Show one region alone", [None, *regions],
    format_func=lambda i: "every region" if i is None else
    f"R{i} · {regions[i].size:,} {state.plural(regions[i].size, 'row')}")
mode = state.remembered(right.radio, "map_mode", "A new pick on the map", MODES,
                        format_func=MODE_NAMES.get, horizontal=True)

selected = np.asarray(st.session_state.get(SELECTED, []), dtype=np.int64)
if len(selected) and selected.max() >= len(analysis.data):  # another table's selection
    selected = np.array([], dtype=np.int64)
# The chart's last pick, read before the chart is drawn so the figure can ring it at once.
pick = (st.session_state.get(CHART_KEY) or {}).get("selection")
if pick and (pick.get("box") or pick.get("lasso") or pick.get("points")):
    shapes = bool(pick.get("box") or pick.get("lasso"))
    picked = (rows_in_shapes(analysis.map.coords, pick.get("box", []), pick.get("lasso", []))
              if shapes else [row for row in map(clicked_row, pick["points"]) if row is not None])
    signature = json.dumps([pick.get("box"), pick.get("lasso"),
                            [] if shapes else sorted(picked)], sort_keys=True, default=str)
    if signature != st.session_state.get(LAST_PICK):
        st.session_state[LAST_PICK] = signature
        selected = combine(selected, picked, mode)
        st.session_state[SELECTED] = selected.tolist()
else:
    st.session_state[LAST_PICK] = None  # a new figure starts without a pick

figure = charts.map_figure(analysis, color_by=color_by, max_points=MAX_DRAWN,
                           selected_region=focus, highlight=selected)
figure.update_layout(height=600)
if len(analysis.data) > MAX_DRAWN:
    st.info(f"The map draws {MAX_DRAWN:,} of {len(analysis.data):,} points so the browser "
            f"stays responsive (every region member and every error first). This thins the "
            f"picture only: a box or lasso selects every row inside it, drawn or not.")
shape = analysis.schema.image_shape
shows_media = shape is not None or analysis.schema.text is not None
chart_column, inspector_column = st.columns([3, 1]) if shows_media else (st.container(), None)
with chart_column:
    st.plotly_chart(figure, key=CHART_KEY, on_select="rerun",
                    selection_mode=("points", "box", "lasso"), config={"displaylogo": False})
if inspector_column is not None:
    with inspector_column:
        media.inspector(analysis, int(selected[0]) if len(selected) else None, shape)

if focus is not None:
    region = regions[focus]
    on_map = map_compactness(region, analysis.map.coords, analysis.seed)
    share = region.size / len(analysis.data)
    width = len(analysis.schema.features)
    st.markdown(
        f"**R{focus}** is a place in the model's *input* space ({width} "
        f"{state.plural(width, 'column')}); the map squeezes that space into two dimensions, "
        f"so its rows may land in several spots. On this map {on_map:.0%} of its rows' "
        f"nearest neighbours are members ({region.compactness:.0%} in input space; "
        f"{share:.0%} if they were spread at random).")

st.caption("Hover a point to see its row. Drag a box or a lasso (toolbar, top right) to "
           "select rows, or click one point; the selection stays when you change the "
           "colouring or the page.")


def show_saved() -> None:
    """The saved selections: listed, reopened on the map, downloaded."""
    saved = load_user_regions(state.project_dir(settings))
    saved = [entry for entry in saved if max(entry["rows"], default=-1) < len(analysis.data)]
    if not saved:
        return
    st.subheader("Saved selections")
    st.dataframe(pd.DataFrame([{
        "selection": f"U{r['id']}", "name": r["name"], "rows": r["size"],
        "error rate": 100 * r["error_rate"], "description": r["description"]}
        for r in saved]), hide_index=True, column_config=state.percent_columns("error rate"))
    by_id = {entry["id"]: entry for entry in saved}
    chosen = st.selectbox("Saved selection", list(by_id), key="map_saved",
                          format_func=lambda i: f"U{i} · {by_id[i]['name']}")
    reopen, download = st.columns(2)
    if reopen.button("Open it on the map", key="map_reopen"):
        st.session_state[SELECTED] = list(by_id[chosen]["rows"])
        st.rerun()
    download.download_button(f"Download U{chosen}'s rows (CSV)",
                             data=state.rows_csv(analysis, by_id[chosen]["rows"]),
                             file_name=f"selection_U{chosen}.csv", mime="text/csv",
                             on_click="ignore", key="map_saved_download")


if not len(selected):
    st.info("Nothing selected yet: select rows on the map to see how wrong the model is "
            "there, whether that is more than chance, and what the rows have in common.")
    show_saved()
    st.stop()

try:
    region = describe_selection(analysis, selected)
except ExplorerError as exc:
    st.error(state.escape_markdown(exc))
    st.stop()

rows = [int(r) for r in region.rows]
st.subheader(f"Your selection: {region.size:,} {state.plural(region.size, 'row')}")
drawn = int(np.isin(rows, charts.drawn_rows(analysis, MAX_DRAWN)).sum())
if drawn < region.size:
    st.caption(f"{drawn:,} of them are drawn on the map; the other {region.size - drawn:,} "
               f"lie inside your shapes too (thinned from the drawing or in a hidden legend "
               f"class) and count in every figure below.")
cols = st.columns(4)
cols[0].metric("Rows selected", f"{region.size:,}")
cols[1].metric("Error rate", f"{region.error_rate:.1%}",
               delta=f"{region.error_rate - region.baseline_error_rate:+.1%} vs "
                     f"{region.baseline_error_rate:.1%} overall", delta_color="inverse")
low, high = region.heldout_interval
cols[2].metric("95 % interval", f"{low:.0%} to {high:.0%}")
cols[3].metric("p-value (vs the other rows)", f"{region.p_value:.2g}")
st.markdown(f"**{state.escape_markdown(region.description)}**")
if region.rule:
    st.markdown(f"Closest rule: {state.escape_markdown(region.rule)} "
                f"(precision {region.rule_precision:.0%}, "
                f"coverage {region.rule_coverage:.0%})")
for contrast in region.contrasts:
    st.markdown(f"- {state.escape_markdown(contrast.text)}")
st.caption(SELECTION_CAVEAT)

actions = st.columns(2)
actions[0].download_button(
    f"Download these {region.size:,} {state.plural(region.size, 'row')} (CSV)",
    data=state.rows_csv(analysis, rows), file_name="selection.csv", mime="text/csv",
    on_click="ignore", key="map_download", icon=":material/download:")
if actions[1].button("Clear the selection", key="map_clear"):
    st.session_state[SELECTED] = []
    st.rerun()

media.region_media(analysis, rows, shape)
shown = analysis.data.iloc[rows[:500]].assign(
    predicted=analysis.predictions.predicted[rows[:500]],
    wrong=analysis.predictions.is_error[rows[:500]])
st.dataframe(shown, height=240)
if len(rows) > 500:
    st.caption(f"First 500 of {len(rows):,} selected rows shown.")

with st.form("save_selection", clear_on_submit=True):
    name = st.text_input("Name", placeholder=f"selection of {region.size} rows")
    if st.form_submit_button("Save as a region"):
        entry = save_user_region(state.project_dir(settings), region, name)
        st.success(f"Saved as U{entry['id']} '{state.escape_markdown(entry['name'])}'. It is "
                   f"listed below and on the Regions page.")
show_saved()
