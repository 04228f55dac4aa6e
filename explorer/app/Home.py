"""Entry script of the explorer app (``explorer app`` runs it): page setup and navigation.

Pages are declared here with ``st.navigation`` so their order and titles live in one place;
each page is a thin script over the core API. They live in ``views/``, not ``pages/``: with a
``pages/`` folder beside it, Streamlit routes a server's first request for ``/loop`` straight
to that file (its older multipage mode), skipping this script and its navigation.
"""

import streamlit as st

st.set_page_config(page_title="explorer: where does the model fail?", page_icon="🧭",
                   layout="wide")

PAGES = [
    st.Page("views/data.py", title="Data", icon=":material/table_view:", default=True),
    st.Page("views/map.py", title="Map", icon=":material/scatter_plot:"),
    st.Page("views/regions.py", title="Regions", icon=":material/target:"),
    st.Page("views/collect.py", title="Collect", icon=":material/playlist_add:"),
    st.Page("views/loop.py", title="Loop", icon=":material/autorenew:"),
    st.Page("views/report.py", title="Report", icon=":material/description:"),
    st.Page("views/bias_demo.py", title="Bias demo", icon=":material/balance:"),
]

st.navigation(PAGES).run()
