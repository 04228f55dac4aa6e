"""Collect page: what kind of data fixes each region, and the list of rows to label next.

The advice (``region.diagnosis``, ``region.suggested_rows``) and the ranked collection list
(``analysis.collection_list``) come from the suggestion engine in the core; this page shows
them and packages the list for annotators.
"""

import pandas as pd
import streamlit as st

from explorer.app import state

ADVICE = {
    "collect": "Collect more rows like these",
    "relabel": "Review the labels of these rows",
    "add_information": "Add information: new features or a different measurement",
}
INSTRUCTIONS = """How to fill in this collection list
1. Open collection_list.csv in a spreadsheet. Each line is one unlabelled row of your pool,
   ranked by priority (1 = label first); 'region' and 'reason' say why it was picked.
2. Type the true label of each row in the empty 'label' column. Leave a cell empty if you
   cannot tell; do not change the 'row' column or the feature columns.
3. Save as CSV and upload it on the Loop page (or give it to 'explorer' to ingest).
"""

settings = state.current_settings()
analysis = state.require_analysis()
st.title("Collect")
state.data_caption(settings, analysis)

if not analysis.regions:
    st.success("No region passed the test, so there is no slice to target: spread new "
               "labelled data broadly.")
    st.stop()

st.subheader("What each region needs")
st.dataframe(pd.DataFrame([{
    "region": f"R{r.id}", "rows": r.size, "error rate": r.error_rate,
    "advice": ADVICE.get(r.diagnosis, "not diagnosed yet"),
    "more rows suggested": r.suggested_rows, "why": r.evidence or "",
    "rule": r.rule or r.description} for r in analysis.regions]), hide_index=True,
    column_config={"error rate": st.column_config.NumberColumn(format="percent")})

collection = analysis.collection_list
if collection is None:
    st.info("No collection list: this analysis has no unlabelled pool. Add one on the Data "
            "page to get a ranked list of pool rows to label; meanwhile, the specification "
            "below says what to collect.")
    spec = "\n".join(
        f"- **R{r.id}** ({ADVICE.get(r.diagnosis, 'more rows')}"
        + (f", about {r.suggested_rows:,} rows" if r.suggested_rows else "") + "): "
        + (f"rows where `{r.rule}`" if r.rule else r.description)
        for r in analysis.regions)
    st.markdown("**Specification: rows to collect**\n" + spec)
    st.stop()

st.subheader(f"Collection list: {len(collection):,} pool rows to label")
st.dataframe(collection.head(500), hide_index=True, height=320)
left, right = st.columns(2)
left.download_button("Download collection_list.csv", data=state.table_csv(collection),
                     file_name="collection_list.csv", mime="text/csv", type="primary",
                     on_click="ignore", icon=":material/download:", key="download-collection")
right.download_button("Download the instructions", data=INSTRUCTIONS,
                      file_name="collection_instructions.txt", mime="text/plain",
                      on_click="ignore")
st.caption(INSTRUCTIONS.splitlines()[0] + ": fill the empty `label` column, save as CSV, "
           "upload it on the Loop page.")
