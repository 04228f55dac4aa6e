"""The ``explorer`` command: exit codes, one-line errors, and the files analyze writes."""

from __future__ import annotations

import html
import io
import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from explorer import cli
from explorer.errors import ExplorerError

from test_export import check_regions_json


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory, planted_data) -> Path:
    path = tmp_path_factory.mktemp("data") / "planted.csv"
    planted_data.frame.to_csv(path, index=False)
    return path


def one_line_error(code: int, err: str) -> str:
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("explorer: error: "), err
    return lines[0]


def test_missing_file_is_one_line(tmp_path):
    code, out, err = run("analyze", str(tmp_path / "nope.csv"), "--target", "y",
                         "--out", str(tmp_path / "out"))
    err = err.splitlines()[-1]  # progress lines come first
    assert code == 2 and err.startswith("explorer: error: ") and "does not exist" in err
    assert out == ""


def test_missing_column_names_it(tmp_path, small_csv):
    code, _, err = run("analyze", str(small_csv), "--target", "lable", "--out",
                       str(tmp_path / "out"))
    assert code == 2
    assert "explorer: error: The target column 'lable' is not in the data. Did you mean " \
           "'label'?" in err
    assert "Traceback" not in err


def test_unknown_dataset_is_one_line(tmp_path):
    line = one_line_error(*run("analyze", "digitz", "--out", str(tmp_path))[::2])
    assert "no built-in dataset is named 'digitz'" in line and "digits" in line


def test_target_required_for_files(tmp_path, small_csv):
    line = one_line_error(*run("analyze", str(small_csv), "--out", str(tmp_path))[::2])
    assert "--target" in line


def test_usage_errors_exit_2():
    assert run()[0] == 2
    code, _, err = run("datasets", "--bogus")
    assert code == 2 and "unrecognized arguments: --bogus" in err
    code, _, err = run("analyze", "x.csv", "--target", "y")
    assert code == 2 and "--out" in err


def test_help_exits_0():
    code, out, _ = run("--help")
    assert code == 0 and "analyze" in out and "datasets" in out and "app" in out


def test_errors_become_one_line_even_when_multiline(monkeypatch):
    def fail(args, out, err):
        raise ExplorerError("first line\nsecond line")

    def interrupted(args, out, err):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_run_datasets", fail)  # bound when main builds the parser
    assert one_line_error(*run("datasets")[::2]) == "explorer: error: first line second line"
    monkeypatch.setattr(cli, "_run_datasets", interrupted)
    code, _, err = run("datasets")
    assert code == 130 and err == "explorer: interrupted\n"


def test_datasets_lists_names():
    code, out, _ = run("datasets")
    assert code == 0
    assert out.splitlines()[0].split()[:4] == ["NAME", "ROWS", "TASK", "SOURCE"]
    assert {"digits", "planted"} <= {line.split()[0] for line in out.splitlines()[1:]}


def test_app_command_is_private_by_default_and_passes_options_last(tmp_path):
    app = tmp_path / "Home.py"
    app.write_text("")
    command = cli.streamlit_command(["--server.address", "0.0.0.0"], app_path=app)
    assert command[:5] == [sys.executable, "-m", "streamlit", "run", str(app)]
    settings = dict(zip(command[5:-2:2], command[6:-2:2]))
    assert settings["--server.address"] == "localhost"
    assert settings["--browser.gatherUsageStats"] == "false"
    assert settings["--client.showErrorDetails"] == "type"
    assert int(settings["--server.maxUploadSize"]) > 0
    assert command[-2:] == ["--server.address", "0.0.0.0"]  # the user's options win
    with pytest.raises(ExplorerError, match="app entry script"):
        cli.streamlit_command([], app_path=tmp_path / "missing.py")


def test_stopping_explorer_app_stops_its_server(tmp_path):
    """A supervisor's SIGTERM to ``explorer app`` reaches the Streamlit server it started."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "explorer", "app", "--server.port",
                                str(port), "--server.headless", "true"], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not _listening(port):
            assert process.poll() is None and time.monotonic() < deadline, "no server"
            time.sleep(0.5)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) is not None
        deadline = time.monotonic() + 15
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not _listening(port), "the server outlived `explorer app`"
    finally:
        process.kill()


def _listening(port: int) -> bool:
    with socket.socket() as client:
        client.settimeout(1)
        return client.connect_ex(("127.0.0.1", port)) == 0


def test_analyze_writes_the_files(tmp_path, small_csv, planted_analysis):
    # Runs after the shared fixture, so umap-learn is already compiled in this process.
    out_dir = tmp_path / "out"
    code, out, err = run("analyze", str(small_csv), "--target", "label", "--prediction",
                         "prediction", "--out", str(out_dir))
    assert code == 0, err
    assert sorted(p.name for p in out_dir.iterdir()) == ["points.csv", "regions.json",
                                                         "report.html"]
    document = json.loads((out_dir / "regions.json").read_text())
    check_regions_json(document, n_rows=600)
    assert len(pd.read_csv(out_dir / "points.csv")) == 600
    assert f"Wrote regions.json, points.csv, report.html to {out_dir}/" in out
    for region in planted_analysis.regions:
        assert f"R{region.id}" in out and region.description in out


def test_planted_region_is_found_and_reported(planted_data, planted_analysis, tmp_path):
    assert planted_analysis.regions, "the planted rule region was not found"
    top = set(planted_analysis.regions[0].rows.tolist())
    truth = set(planted_data.planted["rule"].tolist())
    assert len(top & truth) / len(top | truth) > 0.5
    page = (planted_analysis.save(tmp_path) / "report.html").read_text()
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)
    assert html.escape(planted_analysis.regions[0].description) in page


def test_python_dash_m_entry_point():
    result = subprocess.run([sys.executable, "-m", "explorer", "analyze", "no-such-dataset",
                             "--out", "unused"], capture_output=True, text=True, timeout=60,
                            cwd=Path(__file__).parent)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("explorer: error: ")


def test_score_writes_every_pool_row_in_chunks(tmp_path, small_csv, planted_data,
                                               planted_analysis):
    pool = tmp_path / "pool.parquet"
    planted_data.frame.drop(columns=["label"]).to_parquet(pool)
    scores = tmp_path / "scores.csv"
    code, out, err = run("score", str(small_csv), "--target", "label", "--prediction",
                         "prediction", "--pool", str(pool), "--out", str(scores),
                         "--chunk-rows", "250")
    assert code == 0, err
    written = pd.read_csv(scores)
    assert written["row"].tolist() == list(range(600))
    assert out.startswith(f"Scored 600 pool rows in 3 chunks against "
                          f"{len(planted_analysis.regions)} region")
    top = planted_analysis.regions[0]
    covered = int((written["region"] == top.id).sum())
    assert f"R{top.id:<3} {covered:>9,} rows" in out and f"Wrote {scores}: row," in out


def test_score_refuses_a_bad_scores_file_before_analysing(tmp_path, small_csv):
    pool = tmp_path / "pool.csv"
    pool.write_text("x\n1\n")
    code, out, err = run("score", str(small_csv), "--target", "label", "--pool", str(pool),
                         "--out", str(tmp_path / "scores.xlsx"))
    assert "must end in .csv or .parquet" in one_line_error(code, err) and out == ""
    code, _, err = run("score", str(small_csv), "--target", "label", "--pool",
                       str(tmp_path / "nope.parquet"), "--out", str(tmp_path / "s.csv"))
    assert "The pool file" in one_line_error(code, err) and "does not exist" in err


def test_score_names_the_pool_column_it_lacks(tmp_path, small_csv, planted_data):
    pool = tmp_path / "pool.csv"
    planted_data.frame.drop(columns=["label", "age"]).to_csv(pool, index=False)
    code, _, err = run("score", str(small_csv), "--target", "label", "--prediction",
                       "prediction", "--pool", str(pool), "--out", str(tmp_path / "s.csv"))
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1].startswith("explorer: error: The pool does not match the "
                                           "data: it lacks 1 feature column(s) the data has: "
                                           "['age']")


def test_the_score_help_gives_the_default_chunk():
    from explorer.pool import CHUNK_ROWS

    code, out, _ = run("score", "--help")
    assert code == 0 and f"(default: {CHUNK_ROWS:,})" in " ".join(out.split())
