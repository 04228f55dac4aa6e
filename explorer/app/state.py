"""What the pages share: the chosen data, the cached analysis, and where work lives on disk.

The app holds no analysis logic. It keeps one small :class:`Settings` record (which table,
which columns) in ``st.session_state`` and on disk, so a reload or a server restart reopens
the same project; uploaded files are stored by content hash in the workspace folder, and the
analysis of a given (content, settings) pair is computed once per server and shared by every
session (``st.cache_resource``), with its progress drawn while it runs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pandas as pd
import streamlit as st

import explorer
from explorer.data import read_table
from explorer.errors import ExplorerError
from explorer.export import write_collection_csv

DEFAULT_DATASET = "planted"
"""Opened on a first visit: small (3,000 rows, a few seconds) with known weak regions."""
KEPT_ANALYSES = 4
"""Analyses kept in server memory; older ones are recomputed (their maps are cached on disk)."""
BASELINE = "(train a baseline model)"


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything ``explorer.analyze`` needs to know, as plain values.

    ``source`` is ``"builtin:<name>"`` or ``"upload:<file name in the uploads folder>"``;
    uploaded names are content hashes, so equal settings mean equal inputs.
    """

    source: str
    title: str
    target: str
    prediction: str | None = None
    features: tuple[str, ...] | None = None
    groups: tuple[str, ...] = ()
    pool: str | None = None
    seed: int = 0

    @property
    def key(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)

    @property
    def project(self) -> str:
        """Folder name of this data's project: one per table (and pool), whatever columns."""
        digest = hashlib.sha256(f"{self.source}|{self.pool}".encode()).hexdigest()[:12]
        return f"{self.source.split(':')[-1].split('.')[0][:40]}-{digest}"


def workspace_root() -> Path:
    """The folder holding every app project: ``EXPLORER_WORKSPACE_DIR`` or the user's data dir."""
    configured = os.environ.get("EXPLORER_WORKSPACE_DIR")
    root = Path(configured) if configured else (
        Path.home() / ".local" / "share" / "explorer" / "app-workspaces")
    root.mkdir(parents=True, exist_ok=True)
    return root


def project_dir(settings: Settings) -> Path:
    folder = workspace_root() / settings.project
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def store_upload(name: str, content: bytes) -> str:
    """Keep an uploaded file on disk under its content hash; return its stored file name."""
    suffix = Path(name).suffix.lower()
    stored = f"{hashlib.sha256(content).hexdigest()[:16]}{suffix}"
    folder = workspace_root() / "uploads"
    folder.mkdir(exist_ok=True)
    path = folder / stored
    if not path.exists():
        path.write_bytes(content)
    return stored


def upload_path(stored: str) -> Path:
    return workspace_root() / "uploads" / stored


@st.cache_resource(max_entries=8, show_spinner=False)
def load_builtin(name: str) -> explorer.Dataset:
    """A built-in dataset, loaded once per server (read-only: never mutate it)."""
    return explorer.load_dataset(name)


@st.cache_data(max_entries=8, show_spinner=False)
def load_upload(stored: str) -> pd.DataFrame:
    """An uploaded table, parsed once per content (it is named by its hash)."""
    return read_table(upload_path(stored), what="data")


def load_frame(source: str) -> pd.DataFrame:
    kind, name = source.split(":", 1)
    return load_builtin(name).frame if kind == "builtin" else load_upload(name)


def image_shape(settings: Settings) -> tuple[int, int] | None:
    """(height, width) when rows are images stored as ``pixel_*`` columns (built-ins only)."""
    kind, name = settings.source.split(":", 1)
    return load_builtin(name).image_shape if kind == "builtin" else None


def default_settings(name: str = DEFAULT_DATASET) -> Settings:
    dataset = load_builtin(name)
    return Settings(source=f"builtin:{name}", title=dataset.title, target=dataset.target,
                    prediction=dataset.prediction, groups=tuple(dataset.groups))


def _settings_file() -> Path:
    return workspace_root() / "last_settings.json"


def current_settings() -> Settings:
    """This session's settings; a new session resumes the last ones saved on disk."""
    if "settings" not in st.session_state:
        settings = None
        try:
            values = json.loads(_settings_file().read_text(encoding="utf-8"))
            values["groups"] = tuple(values["groups"])
            if values["features"] is not None:
                values["features"] = tuple(values["features"])
            settings = Settings(**values)
            load_frame(settings.source)  # the stored upload may have been deleted
        except (OSError, ValueError, TypeError, KeyError, ExplorerError):
            settings = None
        st.session_state["settings"] = settings or default_settings()
    return st.session_state["settings"]


def choose(settings: Settings) -> None:
    """Make ``settings`` this session's and the next new session's choice."""
    st.session_state["settings"] = settings
    path = _settings_file()
    temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    temporary.write_text(json.dumps(dataclasses.asdict(settings)), encoding="utf-8")
    os.replace(temporary, path)


@st.cache_resource(show_spinner=False)
def _analyses() -> tuple[OrderedDict, threading.Lock]:
    """The server-wide store of finished analyses, and the lock that lets one run at a time.

    A store rather than a cached function, because ``analyze`` reports progress to elements
    drawn outside it, which Streamlit cannot replay from a cache.
    """
    return OrderedDict(), threading.Lock()


def cached_analysis(settings: Settings) -> explorer.Analysis | None:
    store, _ = _analyses()
    return store.get(settings.key)


def run_analysis(settings: Settings) -> explorer.Analysis | None:
    """Return the analysis for ``settings``, computing it with a progress bar if needed.

    An :class:`~explorer.ExplorerError` (a bad column choice, an unreadable pool) is shown
    with ``st.error`` and gives ``None``; anything else is a bug and propagates.
    """
    store, lock = _analyses()
    if settings.key in store:
        store.move_to_end(settings.key)
        return store[settings.key]
    with st.status(f"Analysing {settings.title}…", expanded=True) as status:
        bar = st.progress(0.0, text="Waiting for another analysis to finish")
        with lock:
            if settings.key not in store:
                started = time.perf_counter()
                try:
                    store[settings.key] = _analyze(settings, bar)
                except ExplorerError as exc:
                    status.update(label="The analysis could not run", state="error")
                    st.error(str(exc))
                    return None
                while len(store) > KEPT_ANALYSES:
                    store.popitem(last=False)
                took = time.perf_counter() - started
                status.update(label=f"Analysed {settings.title} in {took:.1f} s",
                              state="complete", expanded=False)
    return store[settings.key]


def _analyze(settings: Settings, bar) -> explorer.Analysis:
    pool = load_upload(settings.pool) if settings.pool else None
    return explorer.analyze(
        load_frame(settings.source), target=settings.target, prediction=settings.prediction,
        features=list(settings.features) if settings.features else None,
        groups=list(settings.groups) or None, pool=pool, seed=settings.seed,
        progress=lambda message, fraction: bar.progress(min(max(fraction, 0.0), 1.0),
                                                        text=message))


def require_analysis() -> explorer.Analysis:
    """The current analysis, or stop the page (after showing why) when there is none."""
    settings = current_settings()
    analysis = run_analysis(settings)
    if analysis is None:
        st.page_link("pages/data.py", label="Change the data or columns", icon="🗂️")
        st.stop()
    return analysis


def data_caption(settings: Settings, analysis: explorer.Analysis) -> None:
    """One line under each page title: which data, which model, how wrong overall."""
    p = analysis.predictions
    model = "given predictions" if p.source == "given" else "baseline model, out-of-fold"
    st.caption(f"**{settings.title}** · {len(analysis.data):,} rows · target "
               f"`{settings.target}` · {model} ({p.score_name} {p.score:.3f}) · "
               f"baseline error rate {analysis.baseline_error_rate:.1%}")


def thumbnails(frame: pd.DataFrame, rows, shape: tuple[int, int], *, limit: int = 24) -> None:
    """Draw rows stored as ``pixel_*`` columns as small greyscale images with their row ids."""
    rows = list(rows)[:limit]
    if not rows:
        return
    pixels = frame[[f"pixel_{i}" for i in range(shape[0] * shape[1])]].to_numpy(float)
    top = pixels.max() or 1.0
    # Ink is the high value; drawn dark on white, as the digit was written.
    images = [1 - np.clip(pixels[r].reshape(shape) / top, 0, 1) for r in rows]
    scale = max(1, 64 // shape[0])
    images = [np.kron(image, np.ones((scale, scale))) for image in images]
    st.image(images, caption=[f"row {r}" for r in rows], width=64, clamp=True)


def table_csv(frame: pd.DataFrame) -> bytes:
    """A table as the CSV bytes ``export.write_collection_csv`` writes (formula cells made
    inert, UTF-8 with a byte order mark for spreadsheets), for a download button."""
    with tempfile.TemporaryDirectory() as folder:
        path = write_collection_csv(frame, Path(folder) / "table.csv")
        return path.read_bytes()


def rows_csv(analysis: explorer.Analysis, rows) -> bytes:
    """The given data rows, with their 0-based position as a leading ``row`` column."""
    rows = np.asarray(rows, dtype=int)
    frame = analysis.data.iloc[rows].assign(
        predicted=np.asarray(analysis.predictions.predicted)[rows])
    frame.insert(0, "row", rows)
    return table_csv(frame)
