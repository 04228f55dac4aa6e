"""Collect page: what kind of data fixes each region, and the list of rows to label next.

The advice (``region.diagnosis``, ``region.suggested_rows``) and the ranked collection list
(``analysis.collection_list``) come from the suggestion engine in the core; this page shows
them and packages the list for annotators.
"""

import pandas as pd
import streamlit as st

from explorer.app import state
from explorer.diagnose import DIAGNOSIS_TITLES
from explorer.annotate import instructions_sheet


settings, analysis = state.analysis_page("Collect")

if not analysis.regions:
    st.success("No region passed the test, so there is no slice to target: spread new "
               "labelled data broadly.")
    st.stop()

st.subheader("What each region needs")


def rows_needed(region) -> str:
    """The count a person can act on, or why there is none."""
    if region.diagnosis != "collect":
        return ""
    return f"about {region.suggested_rows:,}" if region.suggested_rows else "no count: flat curve"


st.dataframe(pd.DataFrame([{
    "region": f"R{r.id}", "rows": r.size, "error rate": 100 * r.error_rate,
    "advice": DIAGNOSIS_TITLES.get(r.diagnosis, "not diagnosed yet"),
    "more rows needed": rows_needed(r), "rule": r.rule or r.description}
    for r in analysis.regions]), hide_index=True,
    column_config=state.percent_columns("error rate"))
for region in analysis.regions:  # the evidence is a paragraph: too long for a table cell
    with st.expander(f"Why R{region.id}: "
                     f"{DIAGNOSIS_TITLES.get(region.diagnosis, 'not diagnosed yet')}"):
        st.markdown(state.escape_markdown(region.evidence) if region.evidence
                    else "No diagnosis was made for this region.")

collection = analysis.collection_list
if collection is None:
    st.info("No collection list: this analysis has no unlabelled pool. Add one on the Data "
            "page to get a ranked list of pool rows to label; meanwhile, the specification "
            "below says what to collect.")
    spec = "\n".join(
        f"- **R{r.id}** ({DIAGNOSIS_TITLES.get(r.diagnosis, 'more rows')}"
        + (f", about {r.suggested_rows:,} rows" if r.suggested_rows else "") + "): "
        + state.escape_markdown(f"rows where {r.rule}" if r.rule else r.description)
        for r in analysis.regions)
    st.markdown("**Specification: rows to collect**\n" + spec)
    st.stop()

budget = st.number_input("Budget: pool rows to label", min_value=1,
                         max_value=len(analysis.pool), value=len(collection), step=50,
                         key="collect_budget")
collection = state.pooled_collection_list(settings, analysis, int(budget))
st.subheader(f"Collection list: {len(collection):,} pool rows to label")
st.dataframe(collection.head(500), hide_index=True, height=320)
left, right = st.columns(2)
left.download_button("Download collection_list.csv", data=state.table_csv(collection),
                     file_name="collection_list.csv", mime="text/csv", type="primary",
                     on_click="ignore", icon=":material/download:", key="download-collection")
right.download_button("Download the instructions",
                      data=instructions_sheet(analysis.schema, collection),
                      file_name="instructions.md", mime="text/markdown", on_click="ignore")
st.caption("Fill the empty `label` column, save as CSV, and upload it on the Loop page "
           "(which keeps the labels and iterations of this data on disk).")
