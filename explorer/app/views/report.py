"""Report page: the self-contained HTML report and the machine-readable regions.json.

Both come from ``explorer.export`` (the same files ``explorer analyze --out`` writes), built
once per analysis and kept in the server's cache: the report inlines plotly.js (~4 MB).
"""

import json

import streamlit as st

from explorer.app import state
from explorer.export import regions_to_dict, render_report

settings, analysis = state.analysis_page("Report")


@st.cache_data(max_entries=4, show_spinner="Building the report…")
def report_files(key: str, _analysis) -> tuple[str, str]:
    """(report.html, regions.json) for the analysis whose settings key is ``key``."""
    return (render_report(_analysis),
            json.dumps(regions_to_dict(_analysis), indent=2, allow_nan=False))


st.markdown("One page to share: the map, every region with its rule, evidence and advice, "
            "and the notes. It opens in any browser without a network connection.")
report, regions = report_files(settings.key, analysis)
left, right = st.columns(2)
left.download_button("Download the HTML report", data=report, file_name="report.html",
                     mime="text/html", type="primary", on_click="ignore",
                     icon=":material/download:")
right.download_button("Download regions.json", data=regions, file_name="regions.json",
                      mime="application/json", on_click="ignore")
st.caption(f"report.html is {len(report.encode()) / 1e6:.1f} MB (plotly.js is inlined so it "
           f"works offline). regions.json lists every region with its 0-based row positions.")
