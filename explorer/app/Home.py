"""Entry script of the explorer app (``explorer app`` runs it): page setup and navigation.

Pages are declared here with ``st.navigation`` so their order and titles live in one place;
each page is a thin script over the core API.
"""

import streamlit as st

st.set_page_config(page_title="explorer: where does the model fail?", page_icon="🧭",
                   layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table_view:", default=True),
    st.Page("pages/map.py", title="Map", icon=":material/scatter_plot:"),
    st.Page("pages/regions.py", title="Regions", icon=":material/target:"),
    st.Page("pages/collect.py", title="Collect", icon=":material/playlist_add:"),
    st.Page("pages/loop.py", title="Loop", icon=":material/autorenew:"),
    st.Page("pages/report.py", title="Report", icon=":material/description:"),
    st.Page("pages/bias_demo.py", title="Bias demo", icon=":material/balance:"),
]

st.navigation(PAGES).run()
