"""The region search in a second process, beside the map's UMAP fit.

No default finder reads the 2-D map: the search needs the model's space and the errors, both
known before UMAP starts (above ``neighbours.EXACT_ROWS`` rows, so is the neighbour graph
it reads). umap-learn's seeded fit runs on one thread and holds the GIL (a thread beside it
saved only 1.3-1.8 s of a 9 s search at 100k rows), so on a machine with a second core the
search runs in a second process while the map fits, and the analysis waits only for what is
left of it. The same :func:`run_search` runs in line otherwise, so both ways give the same
regions; a second process that cannot start or fails costs only the time: the search then
runs in line.

The second process is a fresh Python calling :func:`serve_job`, not a ``multiprocessing`` child:
those import the caller's main script again (a user's script without a ``__main__`` guard
would run its whole analysis twice) or fork threads mid-work. The job and the result pass
through the folder as ``.npy`` arrays and JSON (:class:`~explorer.cache.StageCache`), never
pickles.
"""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from .cache import StageCache
from .neighbours import NeighbourGraph, NeighbourSearch
from .regions import Finder, RegionSearch, find_regions, reads_map
from .rules import RuleFeatures
from .types import DataMap

__all__ = ["BESIDE_ROWS", "SearchBeside", "SearchDone", "SearchJob", "run_search",
           "worth_a_second_process"]

BESIDE_ROWS = 20_000
"""Rows from which the search runs in a second process: a fresh process spends about 1.4 s
importing what the search needs, which pays once the map takes several seconds more than
that (at 10,000 rows the map took 10 s and the search 5 s on this 2-core machine)."""
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                     "MKL_NUM_THREADS")}
"""The second process computes on one thread, the map on the other core: two processes'
thread pools on two cores spin against each other."""


@dataclass(frozen=True)
class SearchJob:
    """What the region search reads: the rows in input space, their errors, the rule
    features, the settings, the finders and the analysis' shared neighbours (a second
    process searches its own on demand, or reads the same graph); ``coords`` the map, for
    a finder that reads it (None: not fitted yet)."""

    inputs: np.ndarray
    is_error: np.ndarray
    rule_features: RuleFeatures
    seed: int
    alpha: float
    min_region_size: int | None
    finders: dict[str, Finder]
    graph: NeighbourSearch | NeighbourGraph
    coords: np.ndarray | None = None


@dataclass(frozen=True)
class SearchDone:
    """The search's result, the rows a second process' on-demand neighbour search answered
    (for the analysis' own search to take; None in line, where it is that search, or with a
    graph) and the search's own seconds."""

    search: RegionSearch
    searched: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    seconds: float


def run_search(job: SearchJob, progress: Callable[[float], None] | None = None) -> SearchDone:
    """The region search, in this process."""
    started = time.perf_counter()
    if job.coords is None and reads_map(job.finders):
        raise ValueError("A finder reads the map: give the job the map's coords.")
    # Without a finder that reads the map, its coordinates are a placeholder, as in
    # ``embed.model_space_only``.
    space = DataMap(coords=job.inputs[:, :2] if job.coords is None else job.coords,
                    model_space=job.inputs, n_fitted=len(job.inputs), from_cache=False)
    search = find_regions(space, job.is_error, job.rule_features, seed=job.seed,
                          alpha=job.alpha, min_region_size=job.min_region_size,
                          finders=job.finders, graph=job.graph, progress=progress)
    return SearchDone(search, None, round(time.perf_counter() - started, 3))


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the system says)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        return os.cpu_count() or 1


def worth_a_second_process(job: SearchJob) -> bool:
    """Whether ``job`` should run beside the map: enough rows, a spare core, and finders
    that need no map (they would wait for it) and that a fresh process can import by name
    (not one defined in a notebook, a script's ``__main__`` or inside a function)."""
    return len(job.inputs) >= BESIDE_ROWS and usable_cores() >= 2 and \
        not reads_map(job.finders) and all(_importable(f) for f in job.finders.values())


def _importable(finder: Finder) -> bool:
    module, name = getattr(finder, "__module__", None), getattr(finder, "__qualname__", "")
    return module not in (None, "__main__") and "<" not in name


class SearchBeside:
    """:func:`run_search` of ``job`` in a second process, started now; :meth:`result`
    waits for it (and runs the search in line if that process failed: ``failure`` says
    why)."""

    def __init__(self, job: SearchJob):
        self.job = job
        self.failure: str | None = None
        self._folder: Path | None = None
        self._process: subprocess.Popen | None = None
        try:
            self._folder = Path(tempfile.mkdtemp(prefix="explorer-search-"))
            _write_job(job, StageCache(self._folder))
            # This explorer first on the path, wherever the caller found it.
            path = os.pathsep.join(filter(None, [str(Path(__file__).resolve().parents[1]),
                                                 os.environ.get("PYTHONPATH")]))
            with open(self._folder / "stderr.txt", "wb") as stderr:
                self._process = subprocess.Popen(
                    [sys.executable, "-c", "import sys; from explorer.beside import serve_job; "
                     "serve_job(sys.argv[1])", str(self._folder)],
                    stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL,
                    text=True, env={**os.environ, **ONE_THREAD, "PYTHONPATH": path})
        except (OSError, ValueError) as exc:  # a full disk, no process left to start
            self.failure = f"the second process could not start ({exc})"

    def result(self, progress: Callable[[float], None] | None = None) -> SearchDone:
        """The finished search, from the second process or, failing that, in line."""
        try:
            if self._process is not None:
                for line in self._process.stdout:  # progress lines until it ends
                    if line.startswith("progress ") and progress is not None:
                        progress(float(line.split()[1]))
                done = self._process.wait() == 0 and _read_done(StageCache(self._folder))
                if done:
                    return done
                self.failure = "the search failed there (" + _last_line(
                    self._folder / "stderr.txt") + ")"
        finally:
            self.stop()
        return run_search(self.job, progress)

    def stop(self) -> None:
        """End the second process if it still runs, and remove its folder."""
        if self._process is not None:
            if self._process.poll() is None:
                self._process.kill()
            self._process.wait()
            self._process.stdout.close()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


def _last_line(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        lines = []
    return lines[-1] if lines else "no message"


# --- the job and the result as files ------------------------------------------------------

def _write_job(job: SearchJob, folder: StageCache) -> None:
    arrays = {"inputs": job.inputs, "is_error": job.is_error,
              "rules": job.rule_features.matrix}
    graph = isinstance(job.graph, NeighbourGraph)
    if graph:
        arrays |= {"graph_indices": job.graph.indices, "graph_distances": job.graph.distances}
    folder.save_arrays("job", "in", arrays)
    folder.save_json("job", "in", {
        "seed": job.seed, "alpha": job.alpha, "min_region_size": job.min_region_size,
        "finders": {name: f"{f.__module__}:{f.__qualname__}" for name, f in job.finders.items()},
        "rule_names": job.rule_features.names, "two_valued": job.rule_features.two_valued,
        "graph": graph})
    if folder.load_json("job", "in") is None:  # the cache's writes never raise
        raise OSError(f"cannot write the job to {folder.folder}")


def _read_job(folder: StageCache) -> SearchJob:
    settings = folder.load_json("job", "in")
    names = ("inputs", "is_error", "rules") + (("graph_indices", "graph_distances")
                                               if settings["graph"] else ())
    arrays = folder.load_arrays("job", "in", names)
    graph = NeighbourGraph(arrays["graph_indices"], arrays["graph_distances"], exact=False,
                           seed=settings["seed"]) if settings["graph"] else \
        NeighbourSearch(arrays["inputs"], seed=settings["seed"])
    rules = RuleFeatures(arrays["rules"], tuple(settings["rule_names"]),
                         {column: tuple(values)
                          for column, values in settings["two_valued"].items()})
    return SearchJob(arrays["inputs"], arrays["is_error"], rules, settings["seed"],
                     settings["alpha"], settings["min_region_size"],
                     {name: _named(path) for name, path in settings["finders"].items()},
                     graph=graph)


def _named(path: str) -> Finder:
    module, _, name = path.partition(":")
    found = importlib.import_module(module)
    for part in name.split("."):
        found = getattr(found, part)
    return found


def _write_done(done: SearchDone, graph: NeighbourSearch | NeighbourGraph,
                folder: StageCache) -> None:
    search = done.search
    folder.save_regions("done", "search", search.regions, {
        "candidates_tested": search.candidates_tested, "notes": search.notes,
        "seconds": done.seconds})
    if isinstance(graph, NeighbourSearch):
        folder.save_arrays("done", "searched", dict(zip(("rows", "indices", "distances"),
                                                        graph.found())))


def _read_done(folder: StageCache) -> SearchDone | None:
    loaded = folder.load_regions("done", "search")
    if loaded is None:
        return None
    regions, extra = loaded
    searched = folder.load_arrays("done", "searched", ("rows", "indices", "distances"))
    return SearchDone(RegionSearch(regions, extra["candidates_tested"], extra["notes"]),
                      None if searched is None else (searched["rows"], searched["indices"],
                                                     searched["distances"]),
                      extra["seconds"])


def serve_job(folder: str) -> None:
    """The second process: read the job in ``folder``, search (telling progress on stdout),
    write the result there; the parent reads it once this process has ended."""
    cache = StageCache(folder)
    job = _read_job(cache)
    done = run_search(job, lambda fraction: print(f"progress {fraction:.4f}", flush=True))
    _write_done(done, job.graph, cache)
