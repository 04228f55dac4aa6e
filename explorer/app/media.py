"""Rows shown as what they are: images as images, texts as texts (the Map and Regions pages).

A person judges an image region by looking at it, as in FiftyOne's grid: each image is
captioned with its true and predicted label, and the ones the model got wrong are marked
(a red frame and a cross). Plotly cannot draw an image in a hover label, so the Map page has
an inspector beside the chart that shows the clicked point. Texts appear in the map's hover
(``charts.map_figure``) and, for a region or a selection, as a table of example texts.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

import explorer
from explorer.app.state import escape_markdown

GRID_LIMIT = 24
"""Images drawn per grid: three rows of eight, enough to see what a region's images share."""
GRID_WIDTH = 80
"""Pixels per grid image: an 8x8 digit at 10x, a 28x28 one near its own size."""
INSPECTOR_WIDTH = 200
FRAME = 0.08
"""The red frame of a wrong image, as a share of its side: visible at grid size."""
WRONG_MARK = "✗"
TEXT_LIMIT = 20


def caption(analysis: explorer.Analysis, row: int) -> str:
    """``true 8 → predicted 1 ✗`` (the cross only when the model is wrong)."""
    truth = analysis.data[analysis.schema.target].iloc[row]
    predicted = np.asarray(analysis.predictions.predicted)[row]
    wrong = bool(analysis.predictions.is_error[row])
    return f"true {truth} → predicted {predicted}" + (f" {WRONG_MARK}" if wrong else "")


def _picture(analysis: explorer.Analysis, row: int, shape: tuple[int, int],
             top: float) -> np.ndarray:
    """One row's pixels as an RGB picture: ink dark on white, as the digit was written, in a
    red frame when the model got it wrong."""
    height, width = shape
    pixels = analysis.data[[f"pixel_{i}" for i in range(height * width)]].iloc[row]
    grey = 1 - np.clip(pixels.to_numpy(dtype=float).reshape(shape) / top, 0, 1)
    scale = max(1, GRID_WIDTH // height)
    grey = np.kron(grey, np.ones((scale, scale)))
    picture = np.repeat(grey[:, :, None], 3, axis=2)
    if analysis.predictions.is_error[row]:
        edge = max(1, round(FRAME * picture.shape[0]))
        red = np.array([0.84, 0.2, 0.42])  # the map's colour for wrong rows
        picture[:edge], picture[-edge:] = red, red
        picture[:, :edge], picture[:, -edge:] = red, red
    return picture


def _ink_top(analysis: explorer.Analysis, shape: tuple[int, int]) -> float:
    """The brightest pixel value of the data (16 for digits, 255 for MNIST)."""
    columns = [f"pixel_{i}" for i in range(shape[0] * shape[1])]
    return float(analysis.data[columns].to_numpy(dtype=float).max()) or 1.0


def image_grid(analysis: explorer.Analysis, rows, shape: tuple[int, int], *,
               limit: int = GRID_LIMIT) -> None:
    """Draw rows as captioned images, wrong ones first (they are what a person came for)."""
    rows = np.asarray(list(rows), dtype=int)
    if rows.size == 0:
        return
    wrong = np.asarray(analysis.predictions.is_error, dtype=bool)[rows]
    ordered = np.concatenate([rows[wrong], rows[~wrong]])[:limit]
    top = _ink_top(analysis, shape)
    st.image([_picture(analysis, int(r), shape, top) for r in ordered],
             caption=[f"row {r}: {caption(analysis, int(r))}" for r in ordered],
             width=GRID_WIDTH, clamp=True)
    shown = f"{len(ordered)} of {rows.size:,}" if rows.size > len(ordered) else f"{rows.size:,}"
    st.caption(f"{shown} images, wrong ones first ({int(wrong.sum()):,} wrong, framed in red "
               f"and marked {WRONG_MARK}).")


def text_examples(analysis: explorer.Analysis, rows, *, limit: int = TEXT_LIMIT) -> None:
    """The rows' texts beside their true and predicted labels, wrong ones first."""
    column = analysis.schema.text
    rows = np.asarray(list(rows), dtype=int)
    if column is None or rows.size == 0:
        return
    wrong = np.asarray(analysis.predictions.is_error, dtype=bool)[rows]
    ordered = np.concatenate([rows[wrong], rows[~wrong]])[:limit]
    st.dataframe(pd.DataFrame({
        "row": ordered,
        column: analysis.data[column].iloc[ordered].astype(str).to_numpy(),
        "true": analysis.data[analysis.schema.target].iloc[ordered].astype(str).to_numpy(),
        "predicted": np.asarray(analysis.predictions.predicted)[ordered].astype(str),
        "": np.where(np.asarray(analysis.predictions.is_error)[ordered], WRONG_MARK, ""),
    }), hide_index=True, column_config={column: st.column_config.TextColumn(width="large")})


def region_media(analysis: explorer.Analysis, rows, shape: tuple[int, int] | None) -> bool:
    """A region's or a selection's images or texts, if its rows are either; whether drawn."""
    if shape is not None:
        image_grid(analysis, rows, shape)
        return True
    if analysis.schema.text is not None:
        text_examples(analysis, rows)
        return True
    return False


def inspector(analysis: explorer.Analysis, row: int | None,
              shape: tuple[int, int] | None) -> None:
    """One row, large: the clicked point's image or text, with its labels."""
    st.markdown("**Inspector**")
    if row is None:
        # Streamlit lets a click select a point only outside the box and lasso modes.
        st.caption(f"Click a point on the map to see its "
                   f"{'image' if shape is not None else 'text'} here (choose Pan in the "
                   f"map's toolbar first; in Lasso or Box mode a click does not select).")
        return
    label = f"row {row}: {caption(analysis, row)}"
    if shape is not None:
        st.image(_picture(analysis, row, shape, _ink_top(analysis, shape)), caption=label,
                 width=INSPECTOR_WIDTH, clamp=True)
    else:
        st.markdown(f"> {_quoted(analysis.data[analysis.schema.text].iloc[row])}")
        st.caption(label)


def _quoted(text) -> str:
    return escape_markdown("" if pd.isna(text) else text)
