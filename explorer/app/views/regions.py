"""Regions page: the tested regions, most important first, each with its evidence.

Reads ``analysis.regions`` (already ranked, tested and de-duplicated by the core) and the
user's saved selections; draws ``charts.region_error_figure`` and ``group_share_figure``.
"""

import pandas as pd
import streamlit as st

from explorer import charts
from explorer.app import media, state
from explorer.selection import load_user_regions
from explorer.diagnose import advice_title


settings, analysis = state.analysis_page("Regions")
shape = analysis.schema.image_shape

found = [r for r in analysis.regions if r.kind == "error"]
gaps = [r for r in analysis.regions if r.kind == "coverage"]
if not found:
    st.success("No region passed the test: nowhere on the map do the model's errors cluster "
               "more than chance would explain. More data of the same kind is better spent "
               "broadly than on any one slice.")
else:
    count = len(found)
    st.markdown(f"**{count} {state.plural(count, 'region')}** where the model errs more than "
                f"it does overall. {state.tested_on(found)}; p-values are adjusted across "
                f"regions (Benjamini-Hochberg).")
    st.plotly_chart(charts.region_error_figure(analysis), config={"displaylogo": False})
    table = pd.DataFrame([{
        "region": f"R{r.id}", "rows": r.size, "error rate": 100 * r.error_rate,
        "tested error": 100 * r.heldout_error_rate, "overall": 100 * r.baseline_error_rate,
        "lift": r.lift, "adj. p-value": r.p_value, "rule": r.rule or "(no simple rule)",
        "advice": advice_title(r.diagnosis, r.suggested_rows),
    } for r in found])
    st.dataframe(table, hide_index=True, column_config=state.percent_columns(
        "error rate", "tested error", "overall") | {
        "lift": st.column_config.NumberColumn(format="%.2f×"),
        "adj. p-value": st.column_config.NumberColumn(format="%.1e")})
if gaps:
    st.subheader("Coverage gaps")
    st.markdown("Places far more common in the new data (the pool) than in training, tested "
                "on held-out rows of both. The model has barely seen them, so its errors "
                "there cannot be tested yet: collecting such rows is how to find out.")
    st.dataframe(pd.DataFrame([{
        "region": f"R{r.id}", "rule": r.rule, "share of new data": 100 * r.pool_share,
        "share of training": 100 * r.training_share, "training rows": r.size,
        "their error": 100 * r.error_rate if r.size else None,
        "adj. p-value": r.p_value, "rows to collect": r.suggested_rows,
    } for r in gaps]), hide_index=True, column_config=state.percent_columns(
        "share of new data", "share of training", "their error") | {
        "adj. p-value": st.column_config.NumberColumn(format="%.1e")})

for index, region in enumerate(analysis.regions):
    label = (f"R{region.id} · {region.size:,} {state.plural(region.size, 'row')} · "
             f"{region.error_rate:.0%} wrong vs {region.baseline_error_rate:.0%} overall"
             if region.kind == "error" else
             f"R{region.id} · coverage gap · {region.pool_share:.1%} of new data, "
             f"{region.training_share:.1%} of training")
    with st.expander(label, expanded=index == 0):
        st.markdown(f"**{state.escape_markdown(region.description)}**")
        if region.rule:
            st.markdown(f"Rule: {state.escape_markdown(region.rule)} "
                        f"(precision {region.rule_precision:.0%}, "
                        f"coverage {region.rule_coverage:.0%})")
        elif shape is not None or analysis.schema.text is not None:
            st.markdown(f"Shown by its {'images' if shape is not None else 'texts'} below, "
                        f"not by a rule on {'pixels' if shape is not None else 'the embedding'}.")
        else:
            st.markdown("No simple rule fits this region; see the example rows.")
        if region.diagnosis:
            st.warning(f"**{advice_title(region.diagnosis, region.suggested_rows)}.**"
                       + (f"\n\n{state.escape_markdown(region.evidence)}"
                          if region.evidence else ""))
        if region.contrasts:
            st.markdown("**What sets it apart**\n" + "\n".join(
                f"- {state.escape_markdown(c.text)}" for c in region.contrasts))
        if region.confusions:
            st.markdown("**Most common mistakes:** " + "; ".join(
                f"true {state.escape_markdown(t)} predicted as {state.escape_markdown(p)} "
                f"({n})" for t, p, n in region.confusions))
        if region.group_shares:
            st.plotly_chart(charts.group_share_figure(region), config={"displaylogo": False},
                            key=f"groups-{region.id}")
        if region.words:
            st.markdown("**Words its texts use more than the rest:** " + ", ".join(
                state.escape_markdown(word) for word in region.words))
        if not media.region_media(analysis, region.rows, shape):
            st.markdown("**Example rows** (the members nearest the region's centre)")
            st.dataframe(analysis.data.iloc[region.examples or list(region.rows[:10])])
        st.download_button(
            f"Download the {region.size:,} {state.plural(region.size, 'row')} of R{region.id} "
            f"(CSV)",
            data=state.rows_csv(analysis, region.rows), file_name=f"region_{region.id}.csv",
            mime="text/csv", on_click="ignore", key=f"download-{region.id}")

saved = load_user_regions(state.project_dir(settings))
if saved:
    st.subheader("Your saved selections")
    st.dataframe(pd.DataFrame([{
        "selection": f"U{r['id']}", "name": r["name"], "rows": r["size"],
        "error rate": 100 * r["error_rate"], "p-value": r["p_value"],
        "description": r["description"]} for r in saved]), hide_index=True,
        column_config=state.percent_columns("error rate") | {
            "p-value": st.column_config.NumberColumn(format="%.1e")})
    st.page_link("views/map.py", label="Open, show or download them on the Map page",
                 icon=":material/scatter_plot:")
