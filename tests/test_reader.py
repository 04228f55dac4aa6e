"""Files as their authors meant them: encodings, separators, decimal commas, headers, binaries."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from explorer.data import read_table
from explorer.errors import DataError

ROWS = [("north", 1.5, "yes"), ("south", 2.25, "no"), ("Zürich", -0.5, "NA")]


def _write(path, text: str, encoding: str):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding, expected_note", [
    ("utf-8", None), ("utf-8-sig", None), ("cp1252", "cp1252"), ("utf-16", "utf-16"),
])
def test_encodings_are_detected_and_text_survives(tmp_path, encoding, expected_note):
    text = "city,score,label\n" + "".join(f"{c},{s},{l}\n" for c, s, l in ROWS)
    notes: list[str] = []
    frame = read_table(_write(tmp_path / "t.csv", text, encoding), notes=notes)
    assert frame["city"].tolist() == ["north", "south", "Zürich"]
    assert frame["score"].tolist() == [1.5, 2.25, -0.5]
    assert frame["label"].tolist() == ["yes", "no", "NA"]  # "NA" is a class, not missing
    assert any(expected_note in n for n in notes) if expected_note else not notes


def test_a_latin1_file_with_bytes_cp1252_leaves_undefined_is_read_as_latin1(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"name,x\n" + b"caf\xe9\x81,1\n" + b"b,2\n")
    notes: list[str] = []
    frame = read_table(path, notes=notes)
    assert frame["name"].iloc[0] == "café\x81" and "latin-1" in notes[0]


def test_semicolons_and_decimal_commas_are_read_as_a_spreadsheet_means_them(tmp_path):
    text = "city;score;big;label\nnorth;1,5;1.234,5;yes\nsouth;-2,25;12,0;no\nwest;3;7;NA\n"
    notes: list[str] = []
    frame = read_table(_write(tmp_path / "t.csv", text, "cp1252"), notes=notes)
    assert list(frame.columns) == ["city", "score", "big", "label"]
    assert frame["score"].tolist() == [1.5, -2.25, 3.0]
    assert frame["big"].tolist() == [1234.5, 12.0, 7.0]
    assert frame["label"].tolist() == ["yes", "no", "NA"]
    assert any("';'" in n for n in notes) and any("decimal comma" in n for n in notes)


def test_a_quoted_decimal_comma_in_a_comma_separated_file_is_a_number(tmp_path):
    text = 'x,label\n"0,5",a\n"1,25",b\n2,a\n'
    assert read_table(_write(tmp_path / "t.csv", text, "utf-8"))["x"].tolist() == [0.5, 1.25, 2]


def test_tabs_are_detected(tmp_path):
    text = "a\tb\tlabel\n1\tx\t0\n2\ty\t1\n"
    frame = read_table(_write(tmp_path / "t.csv", text, "utf-8"))
    assert list(frame.columns) == ["a", "b", "label"] and frame["a"].tolist() == [1, 2]


def test_na_words_in_a_column_of_numbers_are_missing_and_noted(tmp_path):
    text = "x,label\n1,a\nNA,b\n3,N/A\n"
    notes: list[str] = []
    frame = read_table(_write(tmp_path / "t.csv", text, "utf-8"), notes=notes)
    assert frame["x"].isna().tolist() == [False, True, False]
    assert frame["label"].tolist() == ["a", "b", "N/A"]
    assert any("'x'" in n and "read as missing" in n for n in notes)


@pytest.mark.parametrize("header, message", [
    ("a,b,b,label", r"repeats the column name\(s\) \['b'\]"),
    ("a, ,c,label", r"blank column names at position\(s\) \[2\]"),
])
def test_repeated_and_blank_names_are_refused_from_the_raw_header(tmp_path, header, message):
    path = _write(tmp_path / "t.csv", header + "\n1,2,3,x\n4,5,6,y\n", "utf-8")
    with pytest.raises(DataError, match=message):
        read_table(path)


def test_a_saved_index_column_without_a_name_is_called_index(tmp_path):
    pd.DataFrame({"x": [1, 2], "label": ["a", "b"]}).to_csv(tmp_path / "t.csv")
    notes: list[str] = []
    frame = read_table(tmp_path / "t.csv", notes=notes)
    assert list(frame.columns) == ["index", "x", "label"] and "no name" in notes[0]


def test_a_ragged_line_is_reported_by_its_number(tmp_path):
    path = _write(tmp_path / "t.csv", "a,b,label\n1,2,x\n3,4,y,extra\n", "utf-8")
    with pytest.raises(DataError, match=r"Line 3 of the data file .* has 4 fields where the "
                                        r"header has 3"):
        read_table(path)


@pytest.mark.parametrize("name", ["model.csv", "model.parquet"])
def test_a_pickle_is_refused_by_its_content_without_unpickling(tmp_path, monkeypatch, name):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(pd.DataFrame({"a": [1]}), protocol=4))

    def refuse(*args, **kwargs):
        raise AssertionError("an unpickler was called")

    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pd, "read_pickle", refuse)
    with pytest.raises(DataError, match=rf"'{path}' is not a (CSV|Parquet) file.*pickle"):
        read_table(path)


def test_numbers_with_nan_stay_float_and_ints_stay_int(tmp_path):
    frame = pd.DataFrame({"i": [1, 2, 3], "f": [0.5, np.nan, 2.0], "label": ["a", "b", "a"]})
    frame.to_csv(tmp_path / "t.csv", index=False)
    back = read_table(tmp_path / "t.csv")
    assert back["i"].dtype.kind == "i" and back["f"].isna().sum() == 1


def test_a_header_after_a_lone_carriage_return_is_read_as_pandas_reads_it(tmp_path):
    path = _write(tmp_path / "t.csv", "\r0\n1\n2\n", "utf-8")  # found by tests/test_fuzz.py
    assert read_table(path).columns.tolist() == ["0"]


@pytest.mark.parametrize("encoding", ["utf-8", "cp1252", "utf-16"])
def test_reading_with_progress_reports_the_share_read_and_reads_the_same_table(tmp_path,
                                                                               encoding):
    """The app shows a bar while a large upload is parsed; the bar must not change the table."""
    rng = np.random.default_rng(0)
    text = "city;score;label\n" + "".join(f"Zürich;{x:.3f};{'yes' if x > 0 else 'no'}\n"
                                          for x in rng.normal(size=20_000))
    path = _write(tmp_path / "t.csv", text, encoding)
    shares: list[float] = []
    with_bar = read_table(path, progress=shares.append)
    pd.testing.assert_frame_equal(with_bar, read_table(path))
    assert len(shares) > 1 and shares == sorted(shares) and shares[-1] == 1.0


def _mixed_csv(path, n_rows: int, *, bad_row: int | None = None):
    """A semicolon file with every kind of column a chunk must read as the whole file does:
    decimal commas, NA words among numbers, integers, true/false, text, a cell left empty."""
    lines = ["price;count;flag;city;note"]
    for i in range(n_rows):
        price = "NA" if i % 9 == 0 else f"{i},{i % 7}5"
        count = "abc" if i == bad_row else str(i)
        flag = "" if i % 11 == 0 else ("True" if i % 2 else "False")
        lines.append(f"{price};{count};{flag};{['north', 'Zürich'][i % 2]};{'' if i % 5 else 'x'}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("rows", [1, 17, 1000])
def test_a_file_read_in_chunks_reads_as_the_whole_file(tmp_path, rows):
    from explorer.reader import read_chunks

    path = _mixed_csv(tmp_path / "pool.csv", 1200)
    whole = read_table(path)
    chunks = list(read_chunks(path, "pool", rows=rows))
    assert max(len(chunk) for chunk in chunks) <= rows
    pd.testing.assert_frame_equal(pd.concat(chunks), whole, check_dtype=False)
    assert whole["price"].isna().sum() == 134 and whole["flag"].isna().sum() == 110


def test_a_chunk_reads_only_the_columns_asked_for_and_positions_its_rows(tmp_path):
    from explorer.reader import read_chunks

    frame = pd.DataFrame({"x": np.arange(10.0), "city": list("abcdeabcde"), "y": 1})
    for path in (tmp_path / "p.parquet", tmp_path / "p.csv"):
        frame.to_parquet(path) if path.suffix == ".parquet" else frame.to_csv(path, index=False)
        chunks = list(read_chunks(path, "pool", rows=4, columns=["city", "x"]))
        assert [list(c.index) for c in chunks] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
        assert all(sorted(c.columns) == ["city", "x"] for c in chunks)
        assert pd.concat(chunks)["x"].tolist() == frame["x"].tolist()


def test_a_word_among_numbers_after_the_first_rows_names_its_line(tmp_path):
    from explorer.reader import TYPE_ROWS, read_chunks

    path = _mixed_csv(tmp_path / "pool.csv", TYPE_ROWS + 10, bad_row=TYPE_ROWS + 3)
    with pytest.raises(DataError, match=rf"Line {TYPE_ROWS + 5} .* 'abc' in the column "
                                        rf"'count', whose first 1,000 rows hold numbers"):
        list(read_chunks(path, "pool", rows=100))
