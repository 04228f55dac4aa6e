"""Bias demo page: the guided story of ``explorer.demo.run_bias_demo``, step by step.

Thin: the page draws the steps the core returns (their sentences are formatted from the run's
own numbers) and offers the same one-page report as ``explorer demo bias --out``. A run takes
about a minute, so each (seed, budget) is computed once per server (``st.cache_data``).
"""

import streamlit as st

from explorer.app import state
from explorer.demo import demo_report_html, run_bias_demo
from explorer.errors import ExplorerError


@st.cache_data(max_entries=4, show_spinner="Running the demo: skewed data, regions, "
                                           "collection, retraining (about a minute)…")
def bias_demo(seed: int, budget: int):
    """The demo's result and its report page for one seed and budget."""
    demo = run_bias_demo(seed=seed, budget=budget)
    return demo, demo_report_html(demo)


st.title("Bias demo: unfairness that comes from the data")
st.markdown("A model trained on a census sample that under-covers one group errs more on "
            "that group. Collecting the right rows, not tweaking the model, closes the gap; "
            "a random sample of the same size is the control. Every number below was "
            "measured in this run, with 95% intervals.")
with st.sidebar:
    seed = int(st.number_input("Seed", min_value=0, value=0, step=1))
    budget = int(st.number_input("Rows to label per strategy", min_value=10, max_value=2000,
                                 value=300, step=50))
try:
    demo, report = bias_demo(seed, budget)
except ExplorerError as exc:
    st.error(state.escape_markdown(exc))
    st.stop()

st.caption(demo.split.description)
(st.success if demo.effect_shown else st.warning)(demo.verdict)
for step in demo.steps:
    st.subheader(step.title)
    st.markdown(step.text)
    st.plotly_chart(step.figure, config={"displaylogo": False}, key=f"bias-{step.key}")
st.download_button("Download the demo report", data=report, file_name="bias_demo.html",
                   mime="text/html", on_click="ignore", icon=":material/download:")
