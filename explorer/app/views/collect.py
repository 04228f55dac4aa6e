"""Collect page: what kind of data fixes each region, and the list of rows to label next.

The advice (``region.diagnosis``, ``region.suggested_rows``) and the ranked collection list
(``analysis.collection_list``) come from the suggestion engine in the core; this page shows
them and packages the list for annotators.
"""

import pandas as pd
import streamlit as st

from explorer.app import state
from explorer.diagnose import advice_title
from explorer import annotate
from explorer.data import label_key
from explorer.errors import ExplorerError
from explorer.files import json_text


settings, analysis = state.analysis_page("Collect")

if not analysis.regions:
    st.success("No region passed the test, so there is no slice to target: spread new "
               "labelled data broadly.")
    st.stop()

st.subheader("What each region needs")


st.dataframe(pd.DataFrame([{
    "region": f"R{r.id}", "rows": r.size, "error rate": 100 * r.error_rate,
    "advice": advice_title(r.diagnosis, r.suggested_rows), "rule": r.rule or r.description}
    for r in analysis.regions]), hide_index=True,
    column_config=state.percent_columns("error rate"))
for region in analysis.regions:  # the evidence is a paragraph: too long for a table cell
    with st.expander(f"Why R{region.id}: {advice_title(region.diagnosis, region.suggested_rows)}"):
        st.markdown(state.escape_markdown(region.evidence) if region.evidence
                    else "No diagnosis was made for this region.")

collection = analysis.collection_list
if collection is None:
    st.info("No collection list: this analysis has no unlabelled pool. Add one on the Data "
            "page to get a ranked list of pool rows to label; meanwhile, the specification "
            "below says what to collect.")
    spec = "\n".join(
        f"- **R{r.id}** ({advice_title(r.diagnosis, r.suggested_rows)}): "
        + state.escape_markdown(f"rows where {r.rule}" if r.rule else r.description)
        for r in analysis.regions)
    st.markdown("**Specification: rows to collect**\n" + spec)
    st.stop()

budget = st.number_input("Budget: pool rows to label", min_value=1,
                         max_value=len(analysis.pool), value=len(collection), step=50,
                         key="collect_budget")
collection = state.pooled_collection_list(settings, analysis, int(budget))
st.subheader(f"Collection list: {len(collection):,} pool "
             f"{state.plural(len(collection), 'row')} to label")
st.dataframe(collection.head(500), hide_index=True, height=320)

schema = analysis.schema
labels = [label_key(c) for c in schema.classes] if schema.is_classification else [schema.target]
guide_text = st.text_area(
    "What each label means (for the annotators' instructions): one 'label: definition' line "
    "per label", key="label_guide_text", height=68 + 24 * min(len(labels), 8),
    value="\n".join(f"{label}: " for label in labels))
try:
    guide = annotate.parse_label_guide(guide_text, schema)
except ExplorerError as exc:
    st.error(state.escape_markdown(exc))
    guide = {}
st.session_state["label_guide"] = guide  # the Loop page's lists use it too
left, middle, right = st.columns(3)
left.download_button("Download collection_list.csv", data=state.table_csv(collection),
                     file_name="collection_list.csv", mime="text/csv", type="primary",
                     on_click="ignore", icon=":material/download:", key="download-collection")
middle.download_button("Download the instructions",
                       data=annotate.instructions_sheet(schema, collection, guide),
                       file_name="instructions.md", mime="text/markdown", on_click="ignore",
                       key="download-instructions")
right.download_button("Download as Label Studio tasks (JSON)",
                      data=json_text(annotate.label_studio_tasks(collection)),
                      file_name="label_studio_tasks.json", mime="application/json",
                      on_click="ignore", key="download-label-studio")
st.download_button("Download the Label Studio labelling configuration (XML)",
                   data=annotate.label_studio_config(schema, guide),
                   file_name="label_studio_config.xml", mime="application/xml",
                   on_click="ignore", key="download-label-studio-config")
st.caption("Fill the empty `label` column and save as CSV, or label the tasks in Label "
           "Studio and export them as JSON; upload either on the Loop page, which checks "
           "every label and keeps the labels and iterations of this data on disk.")
