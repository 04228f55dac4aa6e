"""The one error hierarchy of explorer.

Every problem a user can cause (a bad file, a missing column, a parameter out of range, a
collection list edited in the wrong place) raises a subclass of :class:`ExplorerError` whose
message names the problem, the value seen and the fix. The faces (CLI, app) catch
``ExplorerError`` and show its message; anything else reaching a user is a bug.

    ExplorerError
    ├── DataError            the table itself: unreadable, missing column, too few rows or classes
    │   └── SchemaMismatchError   a pool or a labelled file whose columns differ from the data
    ├── ParameterError       an argument out of its allowed range (also a ValueError)
    ├── DatasetNotFoundError a built-in dataset name that does not exist (also a KeyError)
    └── WorkspaceError       a project folder that is missing, locked or damaged
        └── IngestError      a labelled file that cannot be ingested at all
"""

from __future__ import annotations

from numbers import Integral, Real

__all__ = [
    "ExplorerError",
    "DataError",
    "SchemaMismatchError",
    "ParameterError",
    "DatasetNotFoundError",
    "WorkspaceError",
    "IngestError",
    "check_int",
    "check_fraction",
    "check_choice",
]


class ExplorerError(Exception):
    """Base of every error explorer raises on purpose; its message is meant for the user."""


class DataError(ExplorerError):
    """The data cannot be analysed as given; the message says what to change."""


class SchemaMismatchError(DataError):
    """Two tables that must share columns (data and pool, list and labels) do not."""


class ParameterError(ExplorerError, ValueError):
    """An argument is outside its allowed values."""


class DatasetNotFoundError(ExplorerError, KeyError):
    """No built-in dataset has that name."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class WorkspaceError(ExplorerError):
    """A project folder is missing, locked by another writer, or not a workspace."""


class IngestError(WorkspaceError):
    """A labelled file cannot be ingested at all (unreadable, or no usable columns)."""


def check_int(value, *, name: str, owner: str, low: int, high: float = float("inf")) -> int:
    """Return ``value`` as an int in [low, high], or raise a ParameterError naming it."""
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= value <= high:
        upper = "inf)" if high == float("inf") else f"{int(high)}]"
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be an int in [{low}, {upper}. "
            f"Got {value!r} instead."
        )
    return int(value)


def check_fraction(value, *, name: str, owner: str, low: float = 0.0, high: float = 1.0) -> float:
    """Return ``value`` as a float in the open interval (low, high), or raise."""
    if isinstance(value, bool) or not isinstance(value, Real) or not low < value < high:
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be a float in ({low}, {high}). "
            f"Got {value!r} instead."
        )
    return float(value)


def check_choice(value, *, name: str, owner: str, choices) -> str:
    """Return ``value`` if it is one of ``choices``, or raise a ParameterError listing them."""
    if value not in choices:
        allowed = ", ".join(repr(c) for c in choices)
        raise ParameterError(
            f"The '{name}' parameter of {owner} must be one of {allowed}. Got {value!r} instead."
        )
    return value
