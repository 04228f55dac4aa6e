"""The Streamlit face of explorer: ``Home.py`` and ``views/`` draw, ``state.py`` keeps track.

Nothing here analyses data; every number comes from the core API (``explorer.analyze``,
``explorer.selection``, ``explorer.export``, ``explorer.charts``).
"""
