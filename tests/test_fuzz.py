"""Property tests: any small table into the loader and ``analyze`` gives a result or an
``ExplorerError``, never anything else (issue 13, item 14).

Tables mix ints, floats with NaN and infinities, text (empty, "NA", odd unicode) and bools,
under odd column names; the loader sees them as CSV text, where a header may also repeat or
leave out names. Most examples fail fast (too few rows, one class); the few that reach the
model and the map are kept under 100 rows, so the property runs in well under a minute.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import explorer
from explorer.data import read_table
from explorer.errors import ExplorerError

ODD_TEXT = st.sampled_from(["", " ", "NA", "null", "None", "-", "0,5", "1.234,5", "=1+1",
                            "ÿ", "é", "日本", "\u200b", "a\nb", '"', ",", ";", "🙂", "nan",
                            "inf", "-inf", "True"])
NAMES = st.one_of(st.sampled_from(["", " ", "x", "x", "label", "id", "no", "row", "*a*",
                                   "[x](y)", "Unnamed: 0", "0", "é"]),
                  st.text(min_size=0, max_size=6))
CELLS = {
    "int": st.integers(-10**12, 10**12),
    "small_int": st.integers(0, 3),
    "float": st.floats(allow_nan=True, allow_infinity=True, width=64),
    "text": st.one_of(ODD_TEXT, st.text(max_size=5)),
    "bool": st.booleans(),
    "mixed": st.one_of(st.integers(-5, 5), st.floats(allow_nan=True), ODD_TEXT,
                       st.booleans()),
}


@st.composite
def tables(draw) -> pd.DataFrame:
    """A table of 0-400 rows whose columns each hold one kind of cell; long ones repeat a
    short random block, so a large table costs no more to draw than a small one."""
    n_rows = draw(st.one_of(st.integers(0, 50), st.integers(40, 90), st.just(400)))
    n_columns = draw(st.integers(1, 5))
    columns = {}
    for index in range(n_columns):
        kind = draw(st.sampled_from(sorted(CELLS)))
        block = draw(st.lists(CELLS[kind], min_size=1, max_size=12))
        name = draw(NAMES)
        while name in columns:  # a DataFrame's names are unique; CSV text repeats them below
            name = f"{name}{index}"
        columns[name] = [block[i % len(block)] for i in range(n_rows)]
    return pd.DataFrame(columns)


def _target(draw, frame: pd.DataFrame) -> str:
    return draw(st.one_of(st.sampled_from(list(frame.columns)), st.just("nope")))


@settings(derandomize=True, max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frame=tables(), data=st.data())
def test_any_csv_text_is_read_or_refused_clearly(tmp_path_factory, frame, data):
    path = tmp_path_factory.mktemp("fuzz") / "table.csv"
    text = frame.to_csv(index=False)
    if data.draw(st.booleans(), label="repeat a header name") and frame.shape[1] > 1:
        header, _, body = text.partition("\n")
        names = header.split(",")
        text = ",".join([names[-1]] + names[1:]) + "\n" + body
    path.write_text(text, encoding=data.draw(st.sampled_from(["utf-8", "utf-16"])))
    try:
        read_table(path)
    except ExplorerError:
        pass


@settings(derandomize=True, max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frame=tables(), data=st.data())
def test_any_table_is_analysed_or_refused_clearly(frame, data):
    target = _target(data.draw, frame)
    prediction = data.draw(st.one_of(st.none(), st.sampled_from(list(frame.columns))),
                           label="prediction")
    try:
        analysis = explorer.analyze(frame, target=target, prediction=prediction, seed=0)
    except ExplorerError as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("analysed")
    assert len(analysis.data) == len(frame)
    assert np.isfinite(analysis.map.coords).all()
