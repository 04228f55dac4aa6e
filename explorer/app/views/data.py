"""Data page: choose a built-in dataset or upload a table, pick its columns, run the analysis.

Every problem with a file or a column choice is an ExplorerError and is shown with
``st.error``; the page never shows a traceback for the user's data. The choice of target and
prediction is checked as it is made (``explorer.data.column_findings``), before Analyse,
and what the reader detected in a file (encoding, separator, decimal comma) is shown. A table
with free text or ``pixel_*`` columns offers the text column to embed or the image shape.
"""

import streamlit as st

from explorer.app import state
from explorer.data import guess_target
from explorer.errors import ExplorerError

BUILTIN, UPLOAD = "Built-in dataset", "Upload a file"

st.title("Data")
st.markdown("Pick a labelled table and its columns. explorer finds where the model's errors "
            "cluster, tests each place, and says what data would fix it.")

current = state.current_settings()
kind = st.radio("Source", [BUILTIN, UPLOAD], horizontal=True, key="source_kind",
                index=0 if current.source.startswith("builtin:") else 1)

if kind == BUILTIN:
    infos = state.builtin_infos()
    names = list(infos)
    default = current.source.split(":", 1)[1] if current.source.startswith("builtin:") \
        else state.DEFAULT_DATASET
    name = st.selectbox("Dataset", names, index=names.index(default) if default in names else 0,
                        format_func=lambda n: f"{infos[n].title} · {infos[n].rows:,} rows",
                        key="builtin_name")
    try:
        dataset = state.load_builtin(name)
    except ExplorerError as exc:
        st.error(state.escape_markdown(exc))
        st.stop()
    st.caption(f"{dataset.description} Source: {dataset.source}")
    source, title, frame = f"builtin:{name}", dataset.title, dataset.frame
    suggested = state.default_settings(name)
else:
    upload = st.file_uploader("Labelled table (.csv or .parquet)", type=["csv", "parquet"],
                              key="upload")
    if upload is not None:
        stored, title = state.store_upload(upload.name, upload.getvalue()), upload.name
    elif current.source.startswith("upload:"):  # the file chosen before, kept on disk
        stored, title = current.source.split(":", 1)[1], current.title
    else:
        st.info("Upload a table with one row per example and a label column. Add a column "
                "of your model's predictions to analyse that model; without one explorer "
                "trains a baseline and uses its out-of-fold predictions. Pickled models are "
                "never accepted: predictions come as a column.")
        st.stop()
    try:
        frame, read_notes = state.load_upload_with_notes(stored)
    except ExplorerError as exc:  # shown with the user's file name, not the stored copy's
        st.error(state.escape_markdown(
            str(exc).replace(str(state.upload_path(stored)), title)))
        st.stop()
    for note in read_notes:
        st.caption(f"Read as: {state.escape_markdown(note)}")
    source = f"upload:{stored}"
    guess, why = guess_target(frame)
    suggested = state.Settings(source=source, title=title, target=guess,
                               prediction="prediction" if "prediction" in frame.columns
                               else None, **state.media_defaults(source))
    if current.source != source:
        st.info(f"Target guessed: **{state.escape_markdown(guess)}**, because "
                f"{state.escape_markdown(why)}. Change it below if that is not your label.")

if current.source == source:  # keep the user's own choices for this table
    suggested = current
columns = list(frame.columns)
suggested, unknown = state.with_known_columns(suggested, columns)
if unknown:
    st.error(state.escape_markdown(unknown))
st.dataframe(frame.head(200), height=220)
st.caption(f"{len(frame):,} rows × {len(columns)} columns (first 200 rows shown).")

left, right = st.columns(2)  # outside the form: each choice is checked as it is made
target = left.selectbox("Target (the true label)", columns,
                        index=columns.index(suggested.target), key=f"target-{source}")
prediction_options = [state.BASELINE] + columns
prediction = right.selectbox(
    "Model predictions", prediction_options,
    index=prediction_options.index(suggested.prediction or state.BASELINE),
    key=f"prediction-{source}",
    help="A column of your model's predicted labels, or train a baseline model whose "
         "out-of-fold predictions make every error an error on an unseen row.")
problem, questions = state.check_columns(source, target, None if prediction == state.BASELINE
                                         else prediction)
for question in questions:
    st.warning(state.escape_markdown(question))
if problem:
    st.error(f"**This choice cannot be analysed.** {state.escape_markdown(problem)}")

with st.form(f"columns-{source}"):
    left, right = st.columns(2)
    features = left.multiselect("Features (empty: every other usable column)", columns,
                                default=list(suggested.features or ()))
    groups = right.multiselect("Group columns (reported per region, not used by the map)",
                               columns, default=list(suggested.groups))
    texts, shapes = state.media_choices(source)
    text = image_shape = None
    if texts:
        options = [None, *texts]
        text = left.selectbox(
            "Text column (embedded; its regions are described by their words)", options,
            index=options.index(suggested.text) if suggested.text in options else 0,
            format_func=lambda c: "none: leave the text out" if c is None else c,
            help="A column of free text is embedded offline (TF-IDF + SVD) and drives the "
                 "map and the region search; without it the column is left out.")
    if shapes:
        options = [None, *shapes]
        image_shape = right.selectbox(
            "Each row is an image of", options,
            index=options.index(suggested.image_shape)
            if suggested.image_shape in options else 0,
            format_func=lambda s: "not images: the pixel columns are numbers" if s is None
            else f"{s[0]} × {s[1]} pixels (height × width)",
            help="Images are shown as images and their regions described by their "
                 "confusions, not by rules over pixels.")
    pool = left.file_uploader("Optional unlabelled pool, same feature columns (.csv or "
                              ".parquet): rows to pick the collection list from",
                              type=["csv", "parquet"])
    seed = right.number_input("Seed", min_value=0, max_value=2**32 - 1,
                              value=suggested.seed, step=1)
    submitted = st.form_submit_button("Analyse", type="primary", disabled=bool(problem))

if submitted:
    chosen = state.Settings(
        source=source, title=title, target=target,
        prediction=None if prediction == state.BASELINE else prediction,
        features=tuple(features) or None, groups=tuple(groups),
        pool=state.store_upload(pool.name, pool.getvalue()) if pool else suggested.pool,
        seed=int(seed), text=text, image_shape=image_shape)
    if chosen.pool and chosen.pool != suggested.pool:
        try:
            state.load_upload(chosen.pool)
        except ExplorerError as exc:
            st.error(state.escape_markdown(
                str(exc).replace(str(state.upload_path(chosen.pool)), pool.name)))
            st.stop()
    state.choose(chosen)

settings = state.current_settings()
if settings.source != source:  # the table on this page is not the one analysed
    st.info(f"Press **Analyse** to analyse {state.escape_markdown(title)}. Until then the "
            f"other pages show the analysis of {state.escape_markdown(settings.title)}.")
    st.stop()
st.subheader(f"Current analysis: {state.escape_markdown(settings.title)}")
analysis = state.run_analysis(settings)
if analysis is None:
    st.stop()
state.data_caption(settings, analysis)
cols = st.columns(4)
cols[0].metric("Rows", f"{len(analysis.data):,}")
cols[1].metric("Error rate", f"{analysis.baseline_error_rate:.1%}",
               help="Share of rows the model gets wrong (out-of-fold for the baseline model)")
cols[2].metric("Regions found", len(analysis.regions))
cols[3].metric("Pool rows", f"{len(analysis.pool):,}" if analysis.pool is not None else "none")
for note in analysis.notes:
    st.caption(f"Note: {state.escape_markdown(note)}")
links = st.columns(3)
links[0].page_link("views/map.py", label="See the map", icon=":material/scatter_plot:")
links[1].page_link("views/regions.py", label="Read the regions", icon=":material/target:")
links[2].page_link("views/collect.py", label="Plan what to collect",
                   icon=":material/playlist_add:")
