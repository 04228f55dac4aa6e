"""Loop page: labelled rows come back, the model is retrained, regions compared per iteration.

Needs the on-disk workspace of the core (``explorer.workspace.Workspace``); until that module
exists, the page says so instead of failing.
"""

import streamlit as st

from explorer.app import state

settings = state.current_settings()
analysis = state.require_analysis()
st.title("Loop")
state.data_caption(settings, analysis)
st.info("Not available yet: the labelling loop (upload the labelled list or simulate the "
        "annotator, retrain, compare before and after per region and per group) needs the "
        "workspace of the core, which this build does not include.")
