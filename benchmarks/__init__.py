"""Benchmarks run by command (``python -m benchmarks``), never by the test suite."""

import os
import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

from explorer.stats import wilson_interval

ROOT = Path(__file__).resolve().parent.parent
"""The checkout the benchmarks run from."""


def null_rate(false_alarms: int, seeds: int) -> str:
    """Seeds of null data that gave a region, with the 95% Wilson interval of the rate: 40
    seeds tell 0% from 15%, not 3% from 7%, so a count near a 5% target is read with it."""
    if seeds == 0:
        return "not run (0 seeds)"
    low, high = wilson_interval(false_alarms, seeds)
    return f"{false_alarms} of {seeds} ({false_alarms / seeds:.1%}, 95% CI {low:.1%}-{high:.1%})"


def code_at(revision: str, folder: Path) -> Path:
    """``explorer/`` as it was at ``revision``, unpacked under ``folder`` (``git archive``, so
    the working tree is untouched)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "explorer"],
                             check=True, stdout=subprocess.PIPE).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def run_with(code: Path, statement: str, *arguments: str) -> str:
    """The last line a child process prints when it runs ``statement`` (which reads its text
    arguments from ``sys.argv[1:]``) with ``explorer`` imported from ``code`` and the
    benchmarks from this checkout."""
    done = subprocess.run([sys.executable, "-c", statement, *arguments], stdout=subprocess.PIPE,
                          text=True, check=True, cwd=code,  # `-c` puts the cwd first on the path
                          env={**os.environ, "PYTHONPATH": f"{code}:{ROOT}"})
    return done.stdout.strip().splitlines()[-1]
