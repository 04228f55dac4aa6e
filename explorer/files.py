"""Files that are never half-written, JSON that is strict, locks that time out.

Every module that writes to disk (results, the map cache, the workspace, saved selections)
uses these, so a crash or a second writer can never leave a reader with half a file.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np
from filelock import FileLock, Timeout

__all__ = ["replace_atomically", "write_text_atomically", "json_text", "plain",
           "exclusive_lock"]

_INT_LIST = re.compile(r"\[\n\s*(-?\d+(?:,\n\s*-?\d+)*)\n\s*\]")
"""An indented list of integers; the newlines keep it from matching text inside a string."""


def replace_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Let ``write`` fill a temporary file beside ``path``, then move it into place.

    The rename is atomic on one file system: a reader sees the old file or the new one. The
    contents reach the disk before the rename, so a power cut cannot leave an empty file
    under the final name.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        with open(temporary, "r+b") as written:  # Windows flushes only a writable handle
            os.fsync(written.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes 0600 files; results are meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_text_atomically(path: Path, text: str, *, encoding: str = "utf-8") -> None:
    """Write text atomically, keeping its own line endings (CSV quoting depends on them)."""
    def write(temporary: Path) -> None:
        with open(temporary, "w", encoding=encoding, newline="") as stream:
            stream.write(text)

    replace_atomically(path, write)


def json_text(document) -> str:
    """Indented, strict JSON with integer lists (row positions) kept on one line.

    Indenting every row position would put a 100,000-row region on 100,000 lines.
    """
    text = json.dumps(plain(document), indent=2, allow_nan=False)
    return _INT_LIST.sub(lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]",
                         text) + "\n"


def plain(value):
    """Convert numpy scalars and arrays to Python types and non-finite floats to None."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(item) for item in (value.tolist() if isinstance(value, np.ndarray)
                                         else value)]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)  # e.g. a pandas Timestamp as a class label


@contextmanager
def exclusive_lock(lock_path: Path, *, timeout: float, busy_message: str):
    """Hold an exclusive lock on ``lock_path``, waiting up to ``timeout`` seconds.

    Raises ``WorkspaceError(busy_message)`` when another writer holds it for longer. The lock
    is the operating system's (filelock's; ``flock`` on Unix), so it is released when the
    holder's process ends, even by SIGKILL.
    """
    from .errors import WorkspaceError

    lock = FileLock(lock_path)
    try:
        lock.acquire(timeout=timeout)
    except Timeout:
        raise WorkspaceError(busy_message) from None
    try:
        yield
    finally:
        lock.release()
