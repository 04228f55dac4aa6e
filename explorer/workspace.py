"""The on-disk project of the data-engine loop: data, pool, labels, iterations.

Layout of a workspace folder::

    workspace.json        target, groups, seed, hidden label column, classes
    data.parquet          the labelled rows it started with (never rewritten)
    pool.parquet          the unlabelled rows (never rewritten)
    labels/batch-NNNNNN.csv   one immutable file per ingest: pool_row, label, source,
                          source_sha256, ingested_at (the append-only record)
    iterations/N/         iteration.json, regions.json, points.csv, report.html, and after
                          ``suggest`` collection_list.csv and instructions.md

Every file is written to a temporary name and renamed into place, and an iteration folder is
built under a temporary name and renamed whole, so a process killed at any moment leaves the
previous state readable. Writers hold an exclusive file lock on ``.lock``; readers need
none. A label is *acknowledged* once :meth:`Workspace.ingest` returns: its batch file exists.
The training data of an iteration is the starting data followed by the labelled pool rows in
the order they were recorded, so a row's position never changes and regions frozen in one
iteration can be measured again in the next. A region found again keeps its name (``R3``),
and a new region gets a number never used in the workspace (:mod:`explorer.frozen`).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from . import annotate, suggest as suggest_stage
from .analysis import Analysis, analyze
from .coverage import with_coverage_gaps
from .data import align_pool, infer_schema, label_key, read_table
from .errors import IngestError, WorkspaceError, check_choice, check_int
from .export import read_collection_csv, write_collection_csv
from .files import exclusive_lock, json_text, replace_atomically, write_text_atomically
from .frozen import FrozenRegion, frozen_members, with_stable_ids
from .rules import Rule
from .stats import paired_losses, wilson_interval

__all__ = ["Workspace", "IngestReport"]

FORMAT_VERSION = 1
LOCK_TIMEOUT = 30.0


@dataclass(frozen=True)
class IngestReport:
    """What one ingest did with each line of the file: ``accepted`` rows (pool_row, label)
    now recorded, ``unchanged`` rows already recorded with the same label, ``repeated`` lines
    that say again what an earlier line of the file said (recorded once), ``skipped`` rows
    left unlabelled, and ``rejected`` rows. ``repeated`` and ``rejected`` have the columns
    ``line``, ``row``, ``label`` and ``reason``; the five counts add up to :attr:`lines`."""

    source: str
    accepted: pd.DataFrame
    unchanged: int
    skipped: int
    rejected: pd.DataFrame
    repeated: pd.DataFrame = field(default_factory=lambda: _line_table([]))

    @property
    def lines(self) -> int:
        """The labelled rows of the file, each counted once in one of the five outcomes."""
        return (len(self.accepted) + self.unchanged + len(self.repeated) + self.skipped
                + len(self.rejected))

    def summary(self) -> str:
        def count(n: int, word: str) -> str:  # "1 line", "2 lines": never "line(s)"
            return f"{n:,} {word}{'' if n == 1 else 's'}"

        return (f"{count(self.lines, 'line')} of {self.source}: "
                f"{count(len(self.accepted), 'label')} accepted, {self.unchanged:,} already "
                f"recorded, {len(self.repeated):,} repeating an earlier line (recorded once), "
                f"{self.skipped:,} left empty, {len(self.rejected):,} rejected.")


class Workspace:
    """A project folder that runs the loop: suggest -> label -> ingest -> retrain -> compare.

    Create one with :meth:`create` or open one with :meth:`open`; the constructor only stores
    the path. Everything lives on disk (CSV, JSON, Parquet; no pickles), so the CLI, the app
    and a notebook can share a workspace and a crash loses nothing acknowledged.

    Examples
    --------
    >>> import tempfile, explorer
    >>> from explorer.datasets import make_coverage_gap
    >>> data, pool = make_coverage_gap(600, pool_rows=300, seed=0)
    >>> ws = explorer.Workspace.create(tempfile.mkdtemp() + "/p", data.frame, target="label",
    ...                                pool=pool, hidden_label="label")
    >>> ws.status()["labels"]
    0
    """

    def __init__(self, path):
        self.path = Path(path)
        self._analysis: tuple[int, Analysis] | None = None
        self._holder: int | None = None  # the thread holding the writer lock

    # --- creation and reading ------------------------------------------------------------

    @classmethod
    def create(cls, path, data, target: str, *, pool=None, hidden_label: str | None = None,
               groups=None, seed: int = 0) -> "Workspace":
        """Make a new workspace folder from a labelled table and an optional pool.

        Parameters
        ----------
        path : path
            A folder that does not exist yet or is empty.
        data, pool : DataFrame or path
            The labelled rows, and the unlabelled rows with the same feature columns.
        hidden_label : str, optional
            A pool column holding true labels, read only by :meth:`simulate_annotation`
            (demos, benchmarks); it is never shown to the model or written to a list.
        groups : list of str, optional
            Columns reported per group before and after each retrain.
        seed : int
            Seed of every analysis and selection in the workspace.
        """
        seed = check_int(seed, name="seed", owner="Workspace.create", low=0, high=2**32 - 1)
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise WorkspaceError(f"'{path}' already exists and is not an empty folder; choose "
                                 f"a new folder for the workspace, or open this one.")
        frame = read_table(data)
        schema = infer_schema(frame, target=target, groups=groups)
        pool_frame = read_table(pool, what="pool") if pool is not None else None
        if hidden_label is not None:
            if pool_frame is None or hidden_label not in pool_frame.columns:
                raise WorkspaceError(f"The hidden label column '{hidden_label}' is not in the "
                                     f"pool; name a pool column that holds the true labels.")
            if hidden_label in schema.features:
                raise WorkspaceError(f"The hidden label column '{hidden_label}' is a feature "
                                     f"of the data; the model would read the answer.")
        if pool_frame is not None:
            pool_frame = align_pool(pool_frame, frame, schema)
        try:
            path.mkdir(parents=True, exist_ok=True)
            (path / "labels").mkdir()
            (path / "iterations").mkdir()
            _write_parquet(frame, path / "data.parquet")
            if pool_frame is not None:
                _write_parquet(pool_frame, path / "pool.parquet")
            write_text_atomically(path / "workspace.json", json_text({
                "version": FORMAT_VERSION, "target": target, "groups": list(schema.groups),
                "seed": seed, "hidden_label": hidden_label, "task": schema.task,
                "classes": [label_key(c) for c in schema.classes],
                "created": _now()}))
        except OSError as exc:
            raise WorkspaceError(f"Could not create the workspace at '{path}': "
                                 f"{exc.strerror or exc}.") from None
        return cls(path)

    @classmethod
    def open(cls, path) -> "Workspace":
        """Open an existing workspace folder (raises WorkspaceError if it is not one)."""
        workspace = cls(path)
        workspace.settings  # noqa: B018  (validates the folder)
        return workspace

    @property
    def settings(self) -> dict:
        """The contents of workspace.json."""
        file = self.path / "workspace.json"
        if not file.is_file():
            raise WorkspaceError(f"'{self.path}' is not an explorer workspace (no "
                                 f"workspace.json); create one with 'explorer init'.")
        try:
            return json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise WorkspaceError(f"The workspace file '{file}' is damaged ({exc}); restore it "
                                 f"from a backup.") from None

    @property
    def data(self) -> pd.DataFrame:
        return pd.read_parquet(self.path / "data.parquet")

    @property
    def pool(self) -> pd.DataFrame | None:
        file = self.path / "pool.parquet"
        return pd.read_parquet(file) if file.exists() else None

    def _visible_pool(self) -> pd.DataFrame:
        """The pool as annotators and models see it: without hidden or target columns."""
        pool = self.pool
        if pool is None:
            raise WorkspaceError(f"The workspace '{self.path}' has no pool to choose rows "
                                 f"from; create it with --pool.")
        settings = self.settings
        hidden = [c for c in (settings["hidden_label"], settings["target"]) if c]
        return pool.drop(columns=[c for c in hidden if c in pool.columns])

    def labels(self) -> pd.DataFrame:
        """Every recorded label, oldest first: pool_row, label, source, source_sha256, ..."""
        files = sorted((self.path / "labels").glob("batch-*.csv"))
        if not files:
            return pd.DataFrame(columns=["pool_row", "label", "source", "source_sha256",
                                         "ingested_at", "batch"])
        return pd.concat([pd.read_csv(f, dtype={"label": str}, keep_default_na=False)
                          .assign(batch=f.stem) for f in files], ignore_index=True)

    def training_data(self) -> pd.DataFrame:
        """The starting data followed by the labelled pool rows, in recorded order."""
        data, labels = self.data, self.labels()
        if labels.empty:
            return data
        settings = self.settings
        rows = labels["pool_row"].to_numpy(dtype=int)
        added = self._visible_pool().iloc[rows].reset_index(drop=True)
        added[settings["target"]] = _typed_labels(labels["label"], data[settings["target"]])
        return pd.concat([data, added[[c for c in data.columns if c in added.columns]]],
                         ignore_index=True)

    @property
    def iterations(self) -> list[dict]:
        """The iteration records (iteration.json contents), oldest first."""
        folders = [p for p in (self.path / "iterations").iterdir()
                   if p.is_dir() and p.name.isdigit()] if (self.path / "iterations").is_dir() \
            else []
        return [json.loads((p / "iteration.json").read_text(encoding="utf-8"))
                for p in sorted(folders, key=lambda p: int(p.name))]

    # --- writing -----------------------------------------------------------------------------

    @contextmanager
    def _lock(self, timeout: float = LOCK_TIMEOUT):
        """Hold the workspace's exclusive writer lock, waiting up to ``timeout`` seconds.

        Re-entrant within a thread, so a step that decides and then runs another step
        (suggest retrains when labels arrived) holds the lock from its check to its last
        write; a second writer (a process, or another thread of the app's server sharing
        this object) cannot act in between on a state the first has made stale.
        """
        if self._holder == threading.get_ident():
            yield
            return
        self.settings  # noqa: B018  (a folder that is not a workspace fails here, clearly)
        with exclusive_lock(self.path / ".lock", timeout=timeout, busy_message=(
                f"The workspace '{self.path}' is locked by another writer; wait for it to "
                f"finish and try again.")):
            self._holder = threading.get_ident()
            try:
                yield
            finally:
                self._holder = None

    def _analyze(self) -> Analysis:
        """The analysis of the current training data (kept in memory per label count).

        With a pool, its coverage gaps against the rows still unlabelled are added. Its
        regions bear the names they had in the iterations recorded so far
        (:func:`~explorer.frozen.with_stable_ids`); the records hold every name, rows and rule,
        so another process names the same regions alike.
        """
        count = len(self.labels())
        if self._analysis is None or self._analysis[0] != count:
            settings = self.settings
            analysis = analyze(self.training_data(), target=settings["target"],
                               groups=settings["groups"] or None, seed=settings["seed"])
            if self.pool is not None:  # what the rows still unlabelled hold and training lacks
                labelled = self.labels()["pool_row"].to_numpy(dtype=int)
                analysis = with_coverage_gaps(
                    analysis, self._visible_pool().drop(index=labelled).reset_index(drop=True))
            earlier = [f for record in self.iterations for f in _frozen(record)]
            self._analysis = (count, with_stable_ids(analysis, earlier))
        return self._analysis[1]

    def retrain(self) -> dict:
        """Retrain on the grown data, find regions again, and compare with the last iteration.

        The previous iteration's regions are *frozen* (their member rows and rule) and
        measured before and after on the same rows, with 95% Wilson intervals; so are all
        previous rows and every group. Returns the new iteration's record. Without labels
        ingested since the last iteration there is nothing new to learn from, and a second
        iteration on the same data would only blur the before/after record: that raises.
        """
        with self._lock():
            previous = self.iterations[-1] if self.iterations else None
            if previous is not None and previous["labels"] == len(self.labels()):
                raise WorkspaceError(
                    f"Nothing to retrain on: no labels were ingested since iteration "
                    f"{previous['iteration']}. Ingest the annotators' file first "
                    f"(explorer ingest {self.path} FILE).")
            analysis = self._analyze()
            number = 0 if previous is None else previous["iteration"] + 1
            record = {
                "iteration": number, "seed": analysis.seed, "rows": len(analysis.data),
                "labels": self._analysis[0], "created": _now(),
                "error_rate": analysis.baseline_error_rate,
                "interval": _interval(analysis.predictions.error),
                "groups": _group_rates(analysis.data, list(analysis.schema.groups),
                                       analysis.predictions.error),
                "regions": [{"id": r.id, "kind": r.kind, "size": r.size,
                             "error_rate": r.error_rate,
                             "rule": r.rule,
                             "conditions": Rule(r.rule_conditions).to_json(),
                             "description": r.description,
                             "diagnosis": r.diagnosis, "suggested_rows": r.suggested_rows,
                             "rows": np.asarray(r.rows, dtype=np.int64)}
                            for r in analysis.regions],
                "comparison": None if previous is None else
                self._compare(previous, analysis),
                "list": None,
            }
            final = self.path / "iterations" / str(number)
            staging = Path(tempfile.mkdtemp(dir=self.path / "iterations", prefix=f".{number}."))
            try:
                analysis.save(staging)
                write_text_atomically(staging / "iteration.json", json_text(record))
                os.replace(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return json.loads((final / "iteration.json").read_text(encoding="utf-8"))

    def _compare(self, previous: dict, analysis: Analysis) -> dict:
        """Frozen regions, all old rows and every group: error before and after."""
        folder = self.path / "iterations" / str(previous["iteration"])
        before = pd.read_csv(folder / "points.csv")["error"].to_numpy(dtype=float)
        after = analysis.predictions.error
        old = np.arange(len(before))
        regions = []
        for frozen in _frozen(previous):
            members, assigned = frozen_members(frozen, analysis.data, analysis.map)
            rows = members[members < len(before)]
            regions.append({
                "id": frozen.id, "rule": Rule(frozen.rule_conditions).text or None,
                "size": len(rows),
                "description": frozen.description,
                **_before_after(before[rows], after[rows]),
                "new_rows_in_region": int(len(members) - len(rows)),
                "new_rows_assigned": assigned,
            })
        groups = {}
        data = analysis.data.iloc[old]
        for column in analysis.schema.groups:
            for value, index in data.groupby(column, dropna=False).indices.items():
                groups[f"{column} = {value}"] = _before_after(before[index], after[index])
        return {"against_iteration": previous["iteration"],
                "overall": _before_after(before, after[old]),
                "regions": regions, "groups": groups,
                "note": "Out-of-fold error on the same rows before and after, with 95% "
                        "Wilson intervals; 'paired' compares the two models row by row on "
                        "those rows: the change in points with Newcombe's paired 95% "
                        "interval and an exact McNemar test on the rows where exactly one "
                        "model errs (a sign test for regression losses). new_rows_in_region counts added rows that belong to the "
                        "region: by its rule where the rule is precise, else by their "
                        "nearest old rows (new_rows_assigned says which)."}

    def suggest(self, budget: int, strategy: str = "targeted", *,
                label_guide: dict[str, str] | None = None) -> pd.DataFrame:
        """Write a collection list of ``budget`` unlabelled pool rows to the latest iteration.

        ``strategy`` is ``"targeted"`` (ours), ``"random"`` (the control: same budget, random
        rows) or ``"uncertainty"``. Retrains first when labels arrived since the last
        iteration. ``targeted`` also keeps feeding the regions of earlier iterations whose
        current error is still well above the baseline (they are listed under the list's
        ``still_weak`` in iteration.json). Returns the list; it is also at
        ``iterations/N/collection_list.csv`` with ``instructions.md`` and the same rows as
        Label Studio tasks (``label_studio_tasks.json``, ``label_studio_config.xml``) beside
        it. ``label_guide`` (label -> the data owner's definition) is kept in the workspace
        and goes into every later iteration's instructions too.
        """
        budget = check_int(budget, name="budget", owner="Workspace.suggest", low=1)
        strategy = check_choice(strategy, name="strategy", owner="Workspace.suggest",
                                choices=suggest_stage.STRATEGIES)
        pool = self._visible_pool()
        with self._lock():
            iterations = self.iterations
            if not iterations or iterations[-1]["labels"] != len(self.labels()):
                self.retrain()
            analysis = self._analyze()
            available = np.ones(len(pool), dtype=bool)
            available[self.labels()["pool_row"].to_numpy(dtype=int)] = False
            if not available.any():
                raise WorkspaceError("Every pool row is already labelled; add a new pool.")
            iterations = self.iterations
            frozen = [f for r in iterations[:-1] for f in _frozen(r)]
            diagnoses, listing, _ = suggest_stage.suggest_regions(
                analysis.regions, analysis.data, analysis.schema, analysis.predictions,
                analysis.map, pool=pool, budget=budget, strategy=strategy,
                seed=analysis.seed + len(iterations), available=available, frozen=frozen,
                known=analysis.diagnoses)
            current = {r.id for r in analysis.regions}
            record = iterations[-1]
            folder = self.path / "iterations" / str(record["iteration"])
            write_collection_csv(listing, folder / "collection_list.csv")
            guide = self._label_guide(analysis.schema, label_guide)
            write_text_atomically(folder / "instructions.md",
                                  annotate.instructions_sheet(analysis.schema, listing, guide))
            write_text_atomically(folder / "label_studio_tasks.json",
                                  json_text(annotate.label_studio_tasks(listing)))
            write_text_atomically(folder / "label_studio_config.xml",
                                  annotate.label_studio_config(analysis.schema, guide))
            record["list"] = {"strategy": strategy, "budget": budget, "rows": len(listing),
                              "created": _now(),
                              "still_weak": [{"id": i, "evidence": d.evidence}
                                             for i, d in diagnoses.items() if i not in current]}
            write_text_atomically(folder / "iteration.json", json_text(record))
        return listing

    def _label_guide(self, schema, given: dict[str, str] | None) -> dict[str, str]:
        """The label guide given now (checked, then kept on disk) or the one kept before."""
        path = self.path / "label_guide.json"
        if given is not None:
            given = annotate.check_label_guide(given, schema)
            write_text_atomically(path, json_text(given))
            return given
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def latest_list(self) -> Path:
        """The path of the most recent collection list."""
        for record in reversed(self.iterations):
            path = self.path / "iterations" / str(record["iteration"]) / "collection_list.csv"
            if path.exists():
                return path
        raise WorkspaceError("No collection list yet; run 'explorer suggest' first.")

    def ingest(self, source) -> IngestReport:
        """Validate a labelled collection list and record its new labels.

        Accepts a path (.csv as written by the list, .parquet, or .json: a Label Studio export
        of the list's tasks) or a DataFrame with ``row`` and ``label`` columns. Rejected with
        a reason: unknown pool rows, labels outside the class set, conflicting duplicates,
        rows whose pool columns were edited, and rows that already carry another label (a
        recorded label is never overwritten). Ingesting the same file twice records nothing
        the second time.
        """
        frame, name, digest = _read_labelled(source)
        with self._lock():
            report = self._validate(frame, name)
            if len(report.accepted):
                batch = report.accepted.assign(source=name, source_sha256=digest,
                                               ingested_at=_now())
                self._write_batch(batch)
        return report

    def simulate_annotation(self) -> IngestReport:
        """Label the latest collection list from the pool's hidden label column and ingest it."""
        hidden = self.settings["hidden_label"]
        if not hidden:
            raise WorkspaceError("This workspace has no hidden label column to simulate an "
                                 "annotator; create it with --hidden-label COL.")
        path = self.latest_list()
        listing = read_collection_csv(path)
        listing["label"] = self.pool[hidden].to_numpy()[listing["row"].to_numpy(dtype=int)]
        report = self.ingest(listing)
        return replace(report, source=f"simulated annotator (the list of iteration "
                                      f"{path.parent.name}, column '{hidden}')")

    def status(self) -> dict:
        """Iterations, labels so far, and the per-region trend of every comparison."""
        settings, labels, iterations = self.settings, self.labels(), self.iterations
        pool = self.pool
        return {
            "path": str(self.path), "target": settings["target"], "seed": settings["seed"],
            "data_rows": len(self.data), "pool_rows": 0 if pool is None else len(pool),
            "labels": len(labels), "sources": sorted(labels["source"].unique().tolist()),
            "iterations": [{"iteration": r["iteration"], "rows": r["rows"],
                            "labels": r["labels"], "error_rate": r["error_rate"],
                            "interval": r["interval"], "regions": len(r["regions"]),
                            "list": r["list"], "comparison": r["comparison"]}
                           for r in iterations],
        }

    def _validate(self, frame: pd.DataFrame, name: str) -> IngestReport:
        settings = self.settings
        pool = self._visible_pool()
        recorded = dict(zip(self.labels()["pool_row"].astype(int), self.labels()["label"]))
        classes = set(settings["classes"])
        rows = pd.to_numeric(frame["row"], errors="coerce")
        labels = frame["label"]
        # a pool column the list renamed (pool:region) is compared with the pool's own
        edited = {c: suggest_stage.list_column(c) for c in pool.columns
                  if suggest_stage.list_column(c) in frame.columns}
        rejected, repeated, accepted, unchanged, skipped = [], [], {}, 0, 0
        seen: dict[int, tuple[str, int]] = {}  # pool row -> (label, line) of its first line
        for position in range(len(frame)):
            line, label = position + 2, labels.iloc[position]
            row = rows.iloc[position]
            if pd.isna(label) or str(label).strip() == "":
                skipped += 1
                continue
            label = label_key(label)

            def reject(reason):
                rejected.append({"line": line, "row": frame["row"].iloc[position],
                                 "label": label, "reason": reason})

            if pd.isna(row) or row != int(row) or not 0 <= row < len(pool):
                reject(f"unknown row {frame['row'].iloc[position]!r}: the pool has rows 0 to "
                       f"{len(pool) - 1}")
                continue
            row = int(row)
            if classes and label not in classes:
                reject(f"label {label!r} is not one of the classes {sorted(classes)}")
                continue
            if not classes and pd.isna(pd.to_numeric(label, errors="coerce")):
                reject(f"label {label!r} is not a number")
                continue
            changed = [name for c, name in edited.items()
                       if not _same(pool[c].iloc[row], frame[name].iloc[position])]
            if changed:
                reject(f"column(s) {changed} differ from the pool's row {row}: only the label "
                       f"column may be edited")
                continue
            if row in seen:
                first, first_line = seen[row]
                if first == label:
                    repeated.append({"line": line, "row": row, "label": label,
                                     "reason": f"repeats line {first_line}"})
                    continue
                conflict = (f"row {row} appears twice with different labels ({first!r} on "
                            f"line {first_line} and {label!r} on line {line})")
                reject(conflict)
                if accepted.pop(row, None) is not None:  # neither line is recorded
                    rejected.append({"line": first_line, "row": row, "label": first,
                                     "reason": conflict})
                continue
            seen[row] = (label, line)
            if row in recorded:
                if label_key(recorded[row]) == label:
                    unchanged += 1
                else:
                    reject(f"row {row} already has the label {recorded[row]!r}; a recorded "
                           f"label is never overwritten")
                continue
            accepted[row] = label
        return IngestReport(
            source=name, unchanged=unchanged, skipped=skipped,
            accepted=pd.DataFrame({"pool_row": list(accepted), "label": list(accepted.values())}),
            rejected=_line_table(rejected).sort_values("line", ignore_index=True),
            repeated=_line_table(repeated))

    def _write_batch(self, batch: pd.DataFrame) -> None:
        folder = self.path / "labels"
        number = 1 + max([int(p.stem.split("-")[1]) for p in folder.glob("batch-*.csv")],
                         default=0)
        path = folder / f"batch-{number:06d}.csv"
        write_text_atomically(path, batch.to_csv(index=False))
        directory = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(directory)  # the rename itself survives a power cut
        finally:
            os.close(directory)


def _line_table(lines: list[dict]) -> pd.DataFrame:
    """Lines of a labelled file with what became of them (rejected or repeated)."""
    return pd.DataFrame(lines, columns=["line", "row", "label", "reason"])


def _frozen(record: dict) -> list[FrozenRegion]:
    """An iteration's regions as frozen regions: rows in the data that iteration trained on."""
    return [FrozenRegion(
        id=r["id"], iteration=record["iteration"], rows=np.asarray(r["rows"], dtype=int),
        data_rows=record["rows"], rule_conditions=_stored_rule(r).conditions,
        description=r["description"])
        for r in record["regions"]]


def _stored_rule(region: dict) -> Rule:
    """A region's rule from iteration.json: its conditions, or (files written before they
    were stored) its text read back; no rule, or text that cannot be read, is empty."""
    if "conditions" in region:
        return Rule.from_json(region["conditions"])
    parsed = Rule.parse(region["rule"]) if region["rule"] else None
    return parsed if parsed is not None else Rule(())


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _write_parquet(frame: pd.DataFrame, path: Path) -> None:
    replace_atomically(path, lambda temporary: frame.to_parquet(temporary, index=False))


def _typed_labels(labels: pd.Series, like: pd.Series) -> pd.Series:
    """Recorded (text) labels in the data's label dtype: the class whose key matches."""
    by_key = {label_key(v): v for v in like.dropna().unique()}
    if pd.api.types.is_numeric_dtype(like) and not by_key.keys() >= set(labels):
        return pd.to_numeric(labels).astype(like.dtype)
    return pd.Series([by_key.get(v, v) for v in labels], dtype=like.dtype)


def _same(original, given) -> bool:
    if pd.isna(original) and pd.isna(given):
        return True
    if isinstance(original, (int, float, np.number)) and not isinstance(original, bool):
        number = pd.to_numeric(pd.Series([given]), errors="coerce").iloc[0]
        return bool(np.isclose(float(original), number, rtol=1e-9, atol=1e-12))
    return label_key(original) == label_key(given)


def _before_after(before: np.ndarray, after: np.ndarray) -> dict:
    """Error on the same rows before and after, and the two compared as pairs."""
    paired = paired_losses(before, after)
    return {"before": _rate(before), "after": _rate(after),
            "paired": {"change": -paired.difference,
                       "interval": [-paired.interval[1], -paired.interval[0]],
                       "fixed": paired.only_first_wrong, "broken": paired.only_second_wrong,
                       "p_value": paired.p_value}}


def _rate(errors: np.ndarray) -> dict:
    return {"error_rate": float(np.mean(errors)) if len(errors) else None,
            "rows": int(len(errors)), "interval": _interval(errors)}


def _interval(errors: np.ndarray) -> list[float]:
    """95% Wilson interval for 0/1 errors; mean +- 1.96 standard errors for losses."""
    errors = np.asarray(errors, dtype=float)
    if np.isin(errors, (0.0, 1.0)).all():
        return list(wilson_interval(int(errors.sum()), len(errors)))
    half = 1.96 * errors.std(ddof=1) / np.sqrt(len(errors)) if len(errors) > 1 else np.inf
    return [float(errors.mean() - half), float(errors.mean() + half)]


def _group_rates(data: pd.DataFrame, groups: list[str], errors: np.ndarray) -> dict:
    return {f"{column} = {value}": _rate(errors[index])
            for column in groups
            for value, index in data.groupby(column, dropna=False).indices.items()}


def _read_labelled(source) -> tuple[pd.DataFrame, str, str]:
    """The labelled table, a name for the record, and a content hash."""
    if isinstance(source, pd.DataFrame):
        frame = source.reset_index(drop=True)
        digest = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
        name = "<DataFrame>"
    else:
        path = Path(source)
        if not path.is_file():
            raise IngestError(f"The labelled file '{path}' does not exist; check the path.")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        name = path.name
        try:
            suffix = path.suffix.lower()
            frame = (read_collection_csv(path, text_columns=("label",)) if suffix == ".csv"
                     else annotate.read_label_studio_export(path) if suffix == ".json"
                     else read_table(path, what="labelled file"))
        except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
            raise IngestError(f"Could not read the labelled file '{path}': {exc}. Ingest the "
                              f"collection list as written, with its label column filled.") \
                from None
    missing = [c for c in ("row", "label") if c not in frame.columns]
    if missing:
        raise IngestError(f"The labelled file {name} lacks the column(s) {missing}; ingest the "
                          f"collection list with its 'row' column intact and 'label' filled.")
    return frame, name, digest
