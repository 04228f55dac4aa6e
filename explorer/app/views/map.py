"""Map page: every row on the 2-D map; select points to describe, test and save them.

The figure comes from ``explorer.charts.map_figure`` (shared with the HTML report); a
selection is read back through each point's ``customdata[0]`` (its row position), so it
stays right however the map was coloured or thinned, and is described by
``explorer.selection.describe_selection``.
"""

import streamlit as st

from explorer import charts
from explorer.app import media, state
from explorer.errors import ExplorerError
from explorer.selection import SELECTION_CAVEAT, describe_selection, save_user_region

CHART_KEY = "map_selection"
# Points drawn at most; beyond it the map is thinned for drawing only (charts.map_figure).
# (A comment, not a docstring: Streamlit's magic would print a bare string on the page.)
MAX_DRAWN = 50_000

settings, analysis = state.analysis_page("Map")

groups = set(analysis.schema.groups)
labels = {"error": "error (wrong vs right)", "region": "region",
          "confidence": "confidence (highest class probability)"}
options = charts.color_options(analysis)
options = options[:3] + sorted(options[3:], key=lambda c: c not in groups)  # groups first
color_by = st.selectbox(
    "Colour by", options, key="map_color",
    format_func=lambda c: labels.get(c, f"group: {c}" if c in groups else f"feature: {c}"))

figure = charts.map_figure(analysis, color_by=color_by, max_points=MAX_DRAWN)
figure.update_layout(height=600)
if len(analysis.data) > MAX_DRAWN:
    st.info(f"The map draws {MAX_DRAWN:,} of {len(analysis.data):,} points so the browser "
            f"stays responsive (every region member and every error first). This thins the "
            f"picture only: the analysis and your selections use every row.")
shape = analysis.schema.image_shape
shows_media = shape is not None or analysis.schema.text is not None
chart_column, inspector_column = st.columns([3, 1]) if shows_media else (st.container(), None)
with chart_column:
    event = st.plotly_chart(figure, key=CHART_KEY, on_select="rerun",
                            selection_mode=("points", "box", "lasso"),
                            config={"displaylogo": False})
st.caption("Hover a point to see its row. Drag a box or a lasso (toolbar, top right) to "
           "select rows, or click one point; double-click the map to clear the selection.")

points = event["selection"]["points"] if event else []
rows = sorted({int(p["customdata"][0]) for p in points if p.get("customdata")})
if inspector_column is not None:
    with inspector_column:
        media.inspector(analysis, rows[0] if rows else None, shape)
if not rows:
    st.info("Nothing selected yet: select rows on the map to see how wrong the model is "
            "there, whether that is more than chance, and what the rows have in common.")
    st.stop()

try:
    region = describe_selection(analysis, rows)
except ExplorerError as exc:
    st.error(state.escape_markdown(exc))
    st.stop()

st.subheader(f"Your selection: {region.size:,} rows")
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
                   f"listed on the Regions "
                   f"page.")
