"""explorer: find where a model fails, say why, and say what data to collect next."""

from .analysis import Analysis, analyze
from .datasets import Dataset, list_datasets, load_dataset, make_planted
from .errors import (DataError, DatasetNotFoundError, ExplorerError, IngestError,
                     ParameterError, SchemaMismatchError, WorkspaceError)
from .types import Region
from .workspace import Workspace

__version__ = "0.1.0"

__all__ = [
    "Analysis",
    "DataError",
    "Dataset",
    "DatasetNotFoundError",
    "ExplorerError",
    "IngestError",
    "ParameterError",
    "Region",
    "SchemaMismatchError",
    "Workspace",
    "WorkspaceError",
    "analyze",
    "list_datasets",
    "load_dataset",
    "make_planted",
]
