"""Report page: the self-contained HTML report and the machine-readable regions.json.

Both come from ``explorer.export`` (the same files ``explorer analyze --out`` writes), built
once per analysis (and loop state) and kept in the server's cache: the report inlines
plotly.js (~4.8 MB) and a thinned map.
"""

import json

import streamlit as st

from explorer.app import state
from explorer.errors import ExplorerError
from explorer.export import REPORT_MAX_POINTS, regions_to_dict, render_report

settings, analysis = state.analysis_page("Report")


@st.cache_data(max_entries=4, show_spinner="Building the report…")
def report_files(key: str, loop_key: str, title: str, _analysis, _iterations
                 ) -> tuple[str, str]:
    """(report.html, regions.json) for the analysis whose settings key is ``key`` and the
    loop state ``loop_key`` (the workspace's labels and iterations)."""
    return (render_report(_analysis, title=title, iterations=_iterations),
            json.dumps(regions_to_dict(_analysis), indent=2, allow_nan=False))


iterations = []
if settings.pool:  # the loop's before/after, when this data's workspace has any
    try:
        iterations = state.workspace(settings).iterations
    except ExplorerError as exc:
        st.warning(f"The loop's results are left out: {state.escape_markdown(exc)}")
st.markdown("One page to share: the data and settings, the map, every region with its rule, "
            "evidence and advice, the loop's before/after when labels came back, and the "
            "notes. It opens in any browser without a network connection.")
report, regions = report_files(settings.key, json.dumps([len(iterations)] + [
    r["labels"] for r in iterations]), settings.title, analysis, iterations)
left, right = st.columns(2)
left.download_button("Download the HTML report", data=report, file_name="report.html",
                     mime="text/html", type="primary", on_click="ignore",
                     icon=":material/download:")
right.download_button("Download regions.json", data=regions, file_name="regions.json",
                      mime="application/json", on_click="ignore")
st.caption(f"report.html is {len(report.encode()) / 1e6:.1f} MB: plotly.js is inlined so it "
           f"works offline, and its map draws at most {REPORT_MAX_POINTS:,} points. "
           f"regions.json lists every region with its 0-based row positions.")
