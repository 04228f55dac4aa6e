"""Loop page: suggest rows, get them labelled, retrain, and compare before and after.

Thin over ``explorer.workspace.Workspace``: the project lives on disk (``state.workspace``),
so a reload or a restart shows the same labels and iterations; a second workspace beside it
spends the same budgets on random rows, the control. Figures: ``charts.group_error_figure``.
"""

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from explorer import charts
from explorer.app import state
from explorer.errors import ExplorerError
from explorer.suggest import STRATEGIES

STRATEGY_NAMES = {"targeted": "targeted (the regions' needs)",
                  "random": "random (a control)",
                  "uncertainty": "uncertainty (where the model is unsure)"}

settings, analysis = state.analysis_page("Loop")
if not settings.pool:
    st.info("The loop needs an unlabelled pool to pick rows from. Add one on the Data page, "
            "or choose the built-in **coverage gap** dataset, whose pool has hidden true "
            "labels so a simulated annotator can run the whole loop.")
    st.page_link("views/data.py", label="Choose data with a pool", icon="🗂️")
    st.stop()

try:
    workspace = state.workspace(settings)
    hidden = workspace.settings["hidden_label"]
    control = state.workspace(settings, control=True) if hidden else None
except ExplorerError as exc:
    st.error(state.escape_markdown(exc))
    st.stop()


def run(action, message: str):
    """Run a workspace step with a spinner; show its ExplorerError instead of a traceback.

    A step that succeeded is followed by ``st.rerun()`` at its call site, so the counters at
    the top of the page (drawn before the button ran) show the new state."""
    try:
        with st.spinner(message):
            return action()
    except ExplorerError as exc:
        st.error(state.escape_markdown(exc))
        return None


status = workspace.status()
cols = st.columns(4)
retrains = max(len(status["iterations"]) - 1, 0)  # iteration 0 is the starting model
cols[0].metric("Retrains", retrains, help="Iteration 0 is the model before any new label; "
               "each retrain on new labels starts the next iteration.")
cols[1].metric("Labels recorded", f"{status['labels']:,}")
cols[2].metric("Pool rows", f"{status['pool_rows']:,}")
cols[3].metric("Training rows", f"{status['data_rows'] + status['labels']:,}")
st.caption(f"Workspace on disk: `{workspace.path}`")

st.subheader("1 · Suggest rows to label")
with st.form("suggest"):
    left, right = st.columns(2)
    budget = left.number_input("Budget (rows to label)", min_value=1, max_value=10_000,
                               value=100, step=50, key="loop_budget")
    strategy = right.radio("Strategy", STRATEGIES, format_func=STRATEGY_NAMES.get,
                           horizontal=True, key="loop_strategy")
    if st.form_submit_button("Suggest", type="primary") and run(
            lambda: workspace.suggest(int(budget), strategy,
                                      label_guide=st.session_state.get("label_guide")),
            "Retraining if needed and choosing pool rows…") is not None:
        st.rerun()

try:
    list_path = workspace.latest_list()
except ExplorerError:
    list_path = None
if list_path is not None:
    listing = pd.read_csv(list_path, encoding="utf-8-sig", keep_default_na=False)
    st.markdown(f"**Latest collection list** (iteration {list_path.parent.name}): "
                f"{len(listing):,} rows")
    st.dataframe(listing.head(500), hide_index=True, height=240)
    left, middle, right = st.columns(3)
    left.download_button("Download collection_list.csv", data=list_path.read_bytes(),
                         file_name="collection_list.csv", mime="text/csv", on_click="ignore",
                         icon=":material/download:", key="loop-list")
    middle.download_button("Download the instructions",
                           data=(list_path.parent / "instructions.md").read_bytes(),
                           file_name="instructions.md", mime="text/markdown",
                           on_click="ignore", key="loop-instructions")
    tasks = list_path.parent / "label_studio_tasks.json"
    if tasks.exists():  # lists written before Label Studio export have none
        right.download_button("Download as Label Studio tasks (JSON)", data=tasks.read_bytes(),
                              file_name="label_studio_tasks.json", mime="application/json",
                              on_click="ignore", key="loop-label-studio")

st.subheader("2 · Bring the labels back")
with st.form("ingest", clear_on_submit=True):
    labelled = st.file_uploader("The labelled collection list (.csv or .parquet), or Label "
                                "Studio's JSON export of its tasks",
                                type=["csv", "parquet", "json"], key="labelled")
    if st.form_submit_button("Ingest the labels") and labelled is not None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / Path(labelled.name).name
            path.write_bytes(labelled.getvalue())
            report = run(lambda: workspace.ingest(path), "Checking and recording labels…")
        if report is not None:
            st.session_state["ingest_report"] = (report.summary(),
                                                 report.rejected.to_dict("records"))
            st.rerun()
latest = workspace.iterations[-1] if workspace.iterations else None
pending = latest is not None and latest["list"] and latest["labels"] == status["labels"]
if hidden and pending:
    with_control = st.checkbox("Also run the random control: the same budget of random pool "
                               "rows, labelled and retrained in a separate workspace",
                               value=True, key="loop_control")
    if st.button(f"Simulate the annotator (reads the hidden "
                 f"'{state.escape_markdown(hidden)}' column) and retrain",
                 type="primary"):
        report = run(workspace.simulate_annotation, "Labelling from the hidden column…")
        if report is not None:
            st.session_state["ingest_report"] = (report.summary(),
                                                 report.rejected.to_dict("records"))
            spent = latest["list"]["rows"]
            if run(workspace.retrain, "Retraining and re-checking the regions…") and (
                    not with_control or run(lambda: (control.suggest(spent, "random"),
                                                     control.simulate_annotation(),
                                                     control.retrain()),
                                            "Running the random control…")):
                st.rerun()
if "ingest_report" in st.session_state:
    summary, rejected = st.session_state["ingest_report"]
    (st.warning if rejected else st.success)(state.escape_markdown(summary))
    if rejected:
        st.dataframe(pd.DataFrame(rejected), hide_index=True)

st.subheader("3 · Retrain and compare")
recorded = workspace.iterations
nothing_new = bool(recorded) and recorded[-1]["labels"] == workspace.status()["labels"]
if st.button("Retrain on the grown data", disabled=nothing_new,
             help="Needs labels ingested since the last iteration." if nothing_new else None):
    if run(workspace.retrain, "Retraining and re-checking the regions…") is not None:
        st.rerun()

iterations = workspace.iterations
compared = [r for r in iterations if r["comparison"]]
if not compared:
    st.info("No comparison yet: suggest rows, label them (or simulate the annotator), and "
            "retrain. Each retrain measures the previous iteration's regions again, on the "
            "same rows, before and after.")
    st.stop()

# The control's iteration that holds as many labels as this one spent the same budgets.
controls = {r["labels"]: r["comparison"] for r in (control.iterations if control else [])
            if r["comparison"]}
for record in reversed(compared):
    comparison = record["comparison"]
    number = record["iteration"]
    table = state.comparison_table(comparison, controls.get(record["labels"]))
    st.markdown(f"#### Iteration {number} against iteration {comparison['against_iteration']}"
                f" · {record['labels']:,} labels in total")
    regions = table[table["kind"] != "group"]
    st.plotly_chart(charts.group_error_figure(
        regions.assign(value=regions["value"].str.split(":").str[0]),  # rules: in the table
        title="Error rate of the frozen regions and overall, before and after"),
        config={"displaylogo": False}, key=f"loop-{number}")
    st.dataframe(state.comparison_wide(regions), hide_index=True,
                 column_config=state.CHANGE_COLUMN)
    groups = table[table["kind"] == "group"]
    if len(groups):
        st.markdown("**Per group**")
        st.dataframe(state.comparison_wide(groups), hide_index=True,
                     column_config=state.CHANGE_COLUMN)
    if record["labels"] not in controls and control is not None:
        st.caption("No random control for this iteration (it was not run with the control).")
    st.caption("Error on the same rows before and after (out-of-fold), with 95% intervals; "
               "the change is measured row by row on those rows, with its paired 95% interval "
               "and an exact McNemar test on the rows only one of the two models gets wrong. "
               "A region keeps its rows of the earlier iteration; new labelled rows join it "
               "by its rule, or by their nearest old rows when the rule is loose.")

st.markdown("**Across iterations** (error of each iteration's model on its own training rows)")
st.dataframe(pd.DataFrame([{
    "iteration": r["iteration"], "training rows": r["rows"], "labels": r["labels"],
    "error rate": 100 * r["error_rate"], "95% interval": state.interval_text(r["interval"]),
    "regions found": len(r["regions"]),
    "list": f"{r['list']['rows']} rows, {r['list']['strategy']}" if r["list"] else ""}
    for r in iterations]), hide_index=True,
    column_config=state.percent_columns("error rate"))
