"""Read a user's file the way its author meant it, or say exactly why not.

Spreadsheets and other tools write CSV in many dialects. Before pandas parses a file, its
first bytes decide how: the encoding (a byte-order mark, else UTF-8, else Windows-1252, the
usual Excel export in Western Europe, else Latin-1), the separator (``,``, ``;``, tab or
``|``, by which one splits the first lines evenly), and whether the header is sound (no
blank or repeated column names: pandas would rename them silently to ``Unnamed: 2`` and
``b.1``). After parsing, text columns that are numbers written with a decimal comma become
numbers, and a column of numbers that marks missing values as ``NA`` gets them as missing.
Everywhere else ``NA``, ``None`` or ``null`` stay text: a class called "NA" is a class.
Every such decision is added to ``notes`` so the user can see it.

Pickles, joblib files and other binaries are refused by their content, whatever the file
is called, without any unpickler being called: loading a pickle can run code.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["read_file", "read_chunks", "check_file"]

SNIFF_BYTES = 1 << 16
"""The first 64 KiB decide encoding and separator: hundreds of lines of a typical table."""
SEPARATORS = ",;\t|"
NA_TEXT = frozenset({"NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "#N/A", "-"})
"""Texts that mean "missing" in a column of numbers (R writes NA, Excel #N/A)."""
BINARY_MAGIC = (
    (b"\x80\x02", "a Python pickle"), (b"\x80\x03", "a Python pickle"),
    (b"\x80\x04", "a Python pickle"), (b"\x80\x05", "a Python pickle"),
    (b"\x78\x9c", "a zlib-compressed (joblib) file"), (b"\x78\x01", "a zlib-compressed file"),
    (b"\x78\xda", "a zlib-compressed file"), (b"\x1f\x8b", "a gzip file"),
    (b"\xfd7zXZ\x00", "an xz file"), (b"PK\x03\x04", "a zip (or Excel) file"),
    (b"\x93NUMPY", "a NumPy array file"), (b"PAR1", "a Parquet file"),
)
"""Leading bytes of files that are not text tables. Pickles are refused by content, never
loaded; joblib writes pickles, raw or compressed."""
DECIMAL_COMMA = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?")
"""A number written the continental way: ``0,5``, ``-12,25``, ``1.234,5``."""
PARQUET_BUFFER = 1 << 20
"""Bytes a Parquet file is read by at a time when read in chunks. pyarrow's default
(pre-buffering each row group's byte ranges) kept every row group read so far in memory:
reading a 1M-row pool in 100k-row groups grew by 0.19 GiB, where 1 MiB reads stay flat."""
BOOLEANS = {"True": True, "TRUE": True, "true": True,
            "False": False, "FALSE": False, "false": False}
"""The texts pandas reads as true or false."""
TYPE_ROWS = 1000
"""The rows of a file read in chunks that decide how each of its columns is read, as its first
64 KiB decide the encoding and separator: a thousand rows show a column's kind (and its NA
words or decimal commas) in any table seen so far, and cost milliseconds to parse."""
RAGGED = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


class _CountingReader(io.RawIOBase):
    """A file that reports the share of it read so far, so a large upload shows progress."""

    def __init__(self, path: Path, progress: Callable[[float], None]):
        self._file = open(path, "rb")
        self._size = max(path.stat().st_size, 1)
        self._progress = progress

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        read = self._file.readinto(buffer)
        self._progress(min(self._file.tell() / self._size, 1.0))
        return read

    def close(self) -> None:
        self._file.close()
        super().close()


def read_file(path: Path, what: str, notes: list[str],
              progress: Callable[[float], None] | None = None) -> pd.DataFrame:
    """Read a .csv or .parquet file; decisions a user should know of go to ``notes``.

    ``progress(share_read)`` is called as a CSV is parsed (pandas reads it in blocks).
    """
    head = check_file(path, what)
    if path.suffix.lower() != ".csv":
        return _parse(lambda: pd.read_parquet(path), path, what)
    encoding, options, header = _csv_dialect(path, what, head)

    def parse(encoding_used: str) -> pd.DataFrame:
        if progress is None:
            return pd.read_csv(path, encoding=encoding_used, **options)
        with io.BufferedReader(_CountingReader(path, progress)) as stream:
            return pd.read_csv(stream, encoding=encoding_used, **options)

    frame = _parse(lambda: parse(encoding), path, what, retry=lambda: parse("cp1252"))
    if encoding not in ("utf-8", "utf-8-sig") or frame.attrs.pop("retried", False):
        notes.append(f"The {what} file was read as {frame.attrs.pop('encoding', encoding)} "
                     f"(it is not UTF-8).")
    if options["sep"] != ",":
        notes.append(f"The {what} file's columns are separated by "
                     f"{'a tab' if options['sep'] == chr(9) else repr(options['sep'])}.")
    if not header[0].strip() and "index" not in frame.columns:
        frame = frame.rename(columns={frame.columns[0]: "index"})
        notes.append(f"The {what} file's first column has no name (a saved row index?); it is "
                     f"called 'index'.")
    return _typed(frame, what, notes)


def read_chunks(path: Path, what: str, *, rows: int, columns=None,
                progress: Callable[[float], None] | None = None) -> Iterator[pd.DataFrame]:
    """Read a .csv or .parquet file ``rows`` rows at a time, each chunk indexed by its rows'
    0-based positions in the file; memory stays bounded by one chunk (for Parquet, which
    pyarrow reads a row group at a time, by one chunk and one row group).

    Only ``columns`` (default all) are read; a missing one is left for the caller to name.
    A CSV's encoding and separator are found as :func:`read_file` finds them, and how each
    column is read (numbers, numbers with a decimal comma, or text) is decided once, from
    its first ``TYPE_ROWS`` rows: a value reads the same whichever chunk it falls in. A
    later value that is not a number in a column of numbers is refused with its line.
    ``progress(share_read)`` is called after each chunk.
    """
    head = check_file(path, what)
    wanted = None if columns is None else set(columns)
    if path.suffix.lower() != ".csv":
        yield from _parquet_chunks(path, what, rows, wanted, progress)
        return
    encoding, options, _ = _csv_dialect(path, what, head)
    options = dict(options, encoding=encoding,
                   usecols=None if wanted is None else (lambda name: name in wanted))
    sample = _parse(lambda: pd.read_csv(path, nrows=TYPE_ROWS, **options), path, what)
    readings = {column: _reading(sample[column]) for column in sample.columns}
    with io.BufferedReader(_CountingReader(path, progress or (lambda share: None))) as stream:
        chunks = _parse(lambda: pd.read_csv(stream, chunksize=rows, dtype=str, **options),
                        path, what)
        while (chunk := _parse(lambda: next(chunks, None), path, what)) is not None:
            for column, reading in readings.items():
                if reading is not None:
                    chunk[column] = _read_as(chunk[column], reading, path, what)
            yield chunk


def _parquet_chunks(path: Path, what: str, rows: int, wanted: set | None,
                    progress: Callable[[float], None] | None) -> Iterator[pd.DataFrame]:
    """A Parquet file's row batches as DataFrames (its own types hold in every batch)."""
    import pyarrow.parquet as parquet

    table = _parse(lambda: parquet.ParquetFile(path, buffer_size=PARQUET_BUFFER,
                                               pre_buffer=False), path, what)
    names = [name for name in table.schema_arrow.names if wanted is None or name in wanted]
    batches = table.iter_batches(batch_size=rows, columns=names)
    start, total = 0, max(table.metadata.num_rows, 1)
    while (batch := _parse(lambda: next(batches, None), path, what)) is not None:
        chunk = batch.to_pandas()
        chunk.index = pd.RangeIndex(start, start + len(chunk))
        start += len(chunk)
        if progress is not None:
            progress(start / total)
        yield chunk


def check_file(path: Path, what: str) -> bytes:
    """The file's first bytes, once it is known to be a .csv or .parquet file of that kind
    (a task that reads it later checks it before its other work)."""
    if not path.exists():
        raise DataError(f"The {what} file '{path}' does not exist; check the path.")
    if path.is_dir():
        raise DataError(f"The {what} path '{path}' is a folder; give a .csv or .parquet file.")
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".parquet", ".pq"):
        raise DataError(f"The {what} file '{path}' has the extension '{suffix or '(none)'}'; "
                        f"explorer reads .csv and .parquet files.")
    with open(path, "rb") as stream:
        head = stream.read(SNIFF_BYTES)
    kind = _binary_kind(head)
    if suffix != ".csv" and kind != "a Parquet file":
        raise DataError(f"The {what} file '{path}' is not a Parquet file"
                        + (f": it starts like {kind}" if kind else "")
                        + ". Export the table as Parquet or CSV.")
    if suffix == ".csv" and kind is not None:
        raise DataError(f"The {what} file '{path}' is not a CSV file: it starts like {kind}. "
                        f"explorer never loads pickles or other binaries (they can run code); "
                        f"export the table as CSV or Parquet.")
    return head


def _csv_dialect(path: Path, what: str, head: bytes) -> tuple[str, dict, list[str]]:
    """The encoding, pandas' options (separator, what is missing) and the checked header."""
    encoding = _encoding(head)
    text = head.decode(encoding, errors="ignore")
    separator = _separator(text)
    header = _checked_header(text, separator, path, what)
    return encoding, dict(sep=separator, keep_default_na=False, na_values=[""]), header


def _binary_kind(head: bytes) -> str | None:
    for magic, kind in BINARY_MAGIC:
        if head.startswith(magic):
            return kind
    if re.match(rb"BZh[1-9]1AY&SY", head):
        return "a bzip2 file"
    if b"\x00" in head[:4096] and not head.startswith((codecs.BOM_UTF16_LE,
                                                       codecs.BOM_UTF16_BE)) \
            and _utf16_without_bom(head) is None:
        return "a binary file (it holds NUL bytes)"
    return None


def _utf16_without_bom(head: bytes) -> str | None:
    """UTF-16 text without a byte-order mark: every other byte of ASCII text is NUL."""
    sample = head[:2048]
    if len(sample) < 4:
        return None
    if sample[1::2].count(0) > 0.9 * len(sample[1::2]):
        return "utf-16-le"
    if sample[0::2].count(0) > 0.9 * len(sample[0::2]):
        return "utf-16-be"
    return None


def _encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    bare = _utf16_without_bom(head)
    if bare:
        return bare
    try:  # an incremental decoder does not fail on a character cut at the sample's end
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        head.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:  # bytes cp1252 leaves undefined; Latin-1 maps every byte
        return "latin-1"


def _separator(text: str) -> str:
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if len(lines) > 1:
        lines = lines[:-1]  # the sample's last line may be cut short
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=SEPARATORS).delimiter
    except csv.Error:  # e.g. one column only, or quoted text the sniffer cannot place
        counts = {s: [len(next(csv.reader([line], delimiter=s))) for line in lines]
                  for s in SEPARATORS}
        even = {s: c[0] for s, c in counts.items() if c and c[0] > 1 and len(set(c)) == 1}
        return max(even, key=even.get) if even else ","


def _checked_header(text: str, separator: str, path: Path, what: str) -> list[str]:
    """The header as the file spells it; blank and repeated column names are refused."""
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:  # pandas reads a lone CR as a line end and skips blank lines; so does this
        header = next(row for row in rows if row)
    except StopIteration:
        raise DataError(f"The {what} file '{path}' is empty; it needs a header line and "
                        f"rows.") from None
    blank = [i + 1 for i, name in enumerate(header) if not name.strip()]
    if blank and not (blank == [1] and len(header) > 1):  # a leading index column is common
        raise DataError(f"The {what} file '{path}' has blank column names at position(s) "
                        f"{blank} of its header; give every column a name.")
    names = [name.strip() for name in header]
    repeated = sorted({n for n in names if n and names.count(n) > 1})
    if repeated:
        raise DataError(f"The {what} file '{path}' repeats the column name(s) {repeated} in "
                        f"its header; rename them so each column has one name.")
    return header


def _parse(read, path: Path, what: str, retry=None) -> pd.DataFrame:
    try:
        return read()
    except UnicodeDecodeError:
        if retry is None:
            raise DataError(f"The {what} file '{path}' is not valid text in any encoding "
                            f"explorer knows; save it as UTF-8.") from None
        frame = _parse(retry, path, what)
        frame.attrs.update(retried=True, encoding="cp1252")
        return frame
    except pd.errors.ParserError as exc:
        ragged = RAGGED.search(str(exc))
        if ragged:
            expected, line, saw = ragged.groups()
            raise DataError(f"Line {line} of the {what} file '{path}' has {saw} fields where "
                            f"the header has {expected}; fix that line (a separator inside an "
                            f"unquoted value?).") from None
        raise DataError(f"Could not read the {what} file '{path}': {_first_line(exc)}. Check "
                        f"that it is a valid table.") from None
    except (pd.errors.EmptyDataError, OSError, ValueError) as exc:
        raise DataError(f"Could not read the {what} file '{path}': {_first_line(exc)}. Check "
                        f"that it is a valid {path.suffix[1:]} file.") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _typed(frame: pd.DataFrame, what: str, notes: list[str]) -> pd.DataFrame:
    """Numbers written with a decimal comma or with NA for missing become numbers."""
    for column in frame.columns:
        reading = _number_reading(frame[column])
        if reading is None:
            continue
        text = frame[column].dropna().astype(str).str.strip()
        missing = text.isin(NA_TEXT)
        frame[column] = _read_as(frame[column], reading)
        if reading == "comma":
            notes.append(f"The {what} column '{column}' holds numbers with a decimal comma "
                         f"(e.g. {text[~missing].iloc[0]!r}); they were read as numbers.")
        if missing.any():
            notes.append(f"The {what} column '{column}' holds numbers; its "
                         f"{int(missing.sum())} cell(s) {sorted(set(text[missing]))} were "
                         f"read as missing.")
    return frame


def _reading(series: pd.Series) -> str | None:
    """How to read a column of a file read in chunks, from its first rows as pandas parsed
    them: as true/false (``"bool"``), as numbers (``"point"``, ``"comma"``), or as text."""
    if pd.api.types.infer_dtype(series, skipna=True) == "boolean":  # with missing: object
        return "bool"
    if pd.api.types.is_numeric_dtype(series) and not series.isna().all():
        return "point"
    return _number_reading(series)


def _number_reading(series: pd.Series) -> str | None:
    """How a column of text holds numbers: ``"point"``, ``"comma"`` (a decimal comma, maybe
    with dots between thousands), or None when it holds text, numbers already, or nothing.
    ``NA``-like words are missing numbers."""
    if pd.api.types.is_numeric_dtype(series) or series.isna().all():
        return None
    text = series.dropna().astype(str).str.strip()
    values = text[~text.isin(NA_TEXT)]
    if values.empty:
        return None
    if pd.to_numeric(values, errors="coerce").notna().all():
        return "point"
    if values.str.fullmatch(DECIMAL_COMMA.pattern).all() and values.str.contains(",").any():
        return "comma"
    return None


def _read_as(series: pd.Series, reading: str, path: Path | None = None,
             what: str = "") -> pd.Series:
    """A column of text read as ``reading`` says: true/false, or floats with a decimal point
    or comma (``NA``-like words are missing numbers).

    With ``path`` (a file read in chunks, whose readings were decided on its first rows) a
    cell that does not read so is refused, naming its line; without it, it is missing.
    """
    text = series.dropna().astype(str).str.strip()
    if reading == "bool":
        values = text.map(BOOLEANS)
    else:
        values = text[~text.isin(NA_TEXT)]
        if reading == "comma":
            values = values.str.replace(".", "", regex=False).str.replace(",", ".",
                                                                          regex=False)
        values = pd.to_numeric(values, errors="coerce")
    if path is not None and values.isna().any():
        row = values.index[values.isna()][0]
        kind = "true or false" if reading == "bool" else "numbers"
        raise DataError(f"Line {row + 2} of the {what} file '{path}' holds {series[row]!r} "
                        f"in the column '{series.name}', whose first {TYPE_ROWS:,} rows hold "
                        f"{kind}; write such a value there, or leave the cell empty for a "
                        f"missing one.")
    converted = pd.Series(np.nan, index=series.index, name=series.name,
                          dtype=object if reading == "bool" else float)
    converted[values.index] = values if reading == "bool" else values.astype(float)
    return converted
