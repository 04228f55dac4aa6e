"""The files an analysis leaves behind: regions.json, points.csv, the collection list, the report.

Their shapes are a contract (DESIGN.md section 3): other tools read them, so fields may be added
but never renamed or dropped. Every file is written to a temporary name in the target folder
and then moved into place with ``os.replace``, so a reader never sees half a file and a crash
never leaves one behind.
"""

from __future__ import annotations

import dataclasses
import html
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.io as pio

from . import annotate, charts
from .errors import ExplorerError
from .files import json_text, plain, write_text_atomically
from .diagnose import advice_title
from .regions import ERROR_BLIND_FINDERS
from .types import Region

__all__ = ["save_analysis", "output_names", "regions_to_dict", "write_collection_csv", "read_collection_csv",
           "render_report", "FORMAT_VERSION"]

FORMAT_VERSION = 1
ANNOTATOR_FILES = ("collection_list.csv", "instructions.md", "label_studio_tasks.json",
                   "label_studio_config.xml")
"""Written with a pool: the list, its instructions and the same rows as Label Studio tasks."""
REPORT_MAX_POINTS = 10_000
"""Points of the report's map: plotly.js inlined (for offline use) is ~4.8 MB already, and
10,000 points add ~0.4 MB while still showing every region's shape."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\x00")
"""A spreadsheet runs a cell starting with one of these as a formula (CSV injection)."""

_ESCAPE = "'"
"""Prefixed to risky text cells. Cells that already start with it get one too, so the reader
strips exactly one leading apostrophe from every text cell that has one: unambiguous."""

# UTF-8 *with* a byte order mark: Excel opens a BOM-less CSV in the machine's legacy code page
# (so 'é' becomes 'Ã©'), while with the BOM both Excel and LibreOffice detect UTF-8; pandas
# and Python's csv read it with encoding="utf-8-sig", which also accepts files without one
# (a spreadsheet may re-save the list without the mark).
CSV_ENCODING = "utf-8-sig"


def output_names(analysis) -> list[str]:
    """The file names :func:`save_analysis` writes for this analysis."""
    names = ["regions.json", "points.csv", "report.html"]
    return names + (list(ANNOTATOR_FILES) if analysis.collection_list is not None else [])


def save_analysis(analysis, out_dir: Path, *, title: str | None = None) -> Path:
    """Write regions.json, points.csv, report.html (and collection_list.csv) into out_dir.

    Returns the folder. A folder that cannot be created or written to raises an
    :class:`~explorer.errors.ExplorerError` naming it, since that is the user's to fix.
    """
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        write_text_atomically(out_dir / "regions.json", json_text(regions_to_dict(analysis)))
        write_text_atomically(out_dir / "points.csv", analysis.points.to_csv(index=False))
        listing = analysis.collection_list
        if listing is not None:
            write_collection_csv(listing, out_dir / "collection_list.csv")
            write_text_atomically(out_dir / "instructions.md",
                                  annotate.instructions_sheet(analysis.schema, listing))
            write_text_atomically(out_dir / "label_studio_tasks.json",
                                  json_text(annotate.label_studio_tasks(listing)))
            write_text_atomically(out_dir / "label_studio_config.xml",
                                  annotate.label_studio_config(analysis.schema))
        else:  # a list left by an earlier run with a pool would point at other regions
            for name in ANNOTATOR_FILES:
                (out_dir / name).unlink(missing_ok=True)
        write_text_atomically(out_dir / "report.html", render_report(analysis, title=title))
    except OSError as exc:
        raise ExplorerError(f"Could not write the results to '{out_dir}': "
                            f"{exc.strerror or exc}. Choose a folder you can write to.") from None
    return out_dir


def regions_to_dict(analysis) -> dict:
    """Return the regions.json document: the contract fields plus extra detail.

    Contract: ``version``, ``rows_total``, ``baseline_error_rate`` and ``regions``, each with
    ``id, size, error_rate, baseline_error_rate, lift, p_value, description, rule, diagnosis,
    suggested_rows, rows`` (0-based positions in the data). The values are plain Python types
    and NaN or infinity become ``null``, so the result passes ``json.dumps(allow_nan=False)``.
    """
    predictions = analysis.predictions
    document = {
        "version": FORMAT_VERSION,
        "rows_total": len(analysis.data),
        "baseline_error_rate": analysis.baseline_error_rate,
        "seed": analysis.seed,
        "target": analysis.schema.target,
        "task": analysis.schema.task,
        "model": {"source": predictions.source, "score": predictions.score,
                  "score_name": predictions.score_name},
        "notes": list(analysis.notes),
        "regions": [_region_to_dict(region) for region in analysis.regions],
    }
    return plain(document)


def _region_to_dict(region) -> dict:
    return {
        "id": region.id,
        "kind": region.kind,
        "size": region.size,
        "error_rate": region.error_rate,
        "baseline_error_rate": region.baseline_error_rate,
        "lift": region.lift,
        "p_value": region.p_value,
        "description": region.description,
        "rule": region.rule,
        "diagnosis": region.diagnosis,
        "suggested_rows": region.suggested_rows,
        "rows": np.asarray(region.rows, dtype=np.int64),
        "heldout_error_rate": region.heldout_error_rate,
        "heldout_size": region.heldout_size,
        "heldout_interval": list(region.heldout_interval),
        "compactness": region.compactness,
        "excess_errors": region.excess_errors,
        "rule_precision": region.rule_precision,
        "rule_coverage": region.rule_coverage,
        "parent": region.parent,
        "pool_share": region.pool_share,
        "training_share": region.training_share,
        "contrasts": [dataclasses.asdict(c) for c in region.contrasts],
        "group_shares": [dataclasses.asdict(g) for g in region.group_shares],
        "confusions": [{"true": t, "predicted": p, "count": n} for t, p, n in region.confusions],
        "words": list(region.words),
        "examples": list(region.examples),
        "evidence": region.evidence,
    }


def _escape_cell(value):
    if isinstance(value, str) and (value == "" or value.startswith(FORMULA_PREFIXES + (_ESCAPE,))):
        return _ESCAPE + value  # "" too, so an empty text differs from a missing value
    return value


def write_collection_csv(frame: pd.DataFrame, path) -> Path:
    """Write a table for people to open in a spreadsheet, with formula cells made inert.

    A text cell starting with ``= + - @``, a tab, a line break or NUL would run as a formula
    (or hide one) when the file is opened, so it gets a leading apostrophe; header cells too,
    since a column name comes from the user's file; a text cell that already starts
    with an apostrophe, or is empty, gets one too, which keeps the scheme reversible (see
    :func:`read_collection_csv`). Numeric columns are written as numbers: ``-3`` in a number
    column is a value, not a formula. Missing values are written as empty cells.
    """
    path = Path(path)
    safe = frame.copy()
    safe.columns = [_escape_cell(str(column)) for column in frame.columns]
    for column in safe.columns:
        series = safe[column]
        if not (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)):
            safe[column] = series.astype(object).map(_escape_cell, na_action="ignore")
    buffer = io.StringIO()
    # CRLF rows as RFC 4180 says; it also makes the csv writer quote cells holding a lone \r.
    safe.to_csv(buffer, index=False, lineterminator="\r\n")
    write_text_atomically(path, buffer.getvalue(), encoding=CSV_ENCODING)
    return path


def read_collection_csv(path, *, text_columns=()) -> pd.DataFrame:
    """Read a file written by :func:`write_collection_csv`, undoing its escaping exactly.

    One leading apostrophe is removed from every cell that has one; such a column is text.
    A column whose cells all read as numbers becomes numeric, unless it is listed in
    ``text_columns`` (a CSV cannot say that ``"007"`` was text: the caller who knows the
    schema can). Empty cells are missing values.
    """
    # pandas' C parser before 3.1 cuts a cell at a NUL character; the Python one keeps it.
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=CSV_ENCODING,
                      engine="python")
    raw.columns = [c[1:] if c.startswith(_ESCAPE) else c for c in raw.columns]
    result = {}
    for column in raw.columns:
        cells = raw[column]
        escaped = cells.str.startswith(_ESCAPE)
        values = cells.where(~escaped, cells.str.slice(1)).astype(object)
        values[(cells == "").to_numpy()] = np.nan
        if column not in text_columns and not escaped.any():
            numbers = pd.to_numeric(values, errors="coerce")
            if numbers.notna().sum() == values.notna().sum():
                values = numbers
        result[column] = values
    return pd.DataFrame(result, columns=raw.columns)


REPORT_CSS = """
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;
 background:#f6f7f9;margin:0}
main{max-width:1080px;margin:0 auto;padding:24px 20px 60px}
h1{font-size:1.7em;margin:.2em 0}h2{margin-top:1.8em;border-bottom:1px solid #dde1e6}
.summary{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px}
.summary div,.region,.howto,.figure{background:#fff;border:1px solid #dde1e6;border-radius:8px}
.summary div{padding:8px 12px}.summary b{display:block;font-size:.8em;color:#5b6472;
 font-weight:600;text-transform:uppercase;letter-spacing:.03em}
.howto{border-left:4px solid #3b6fd8;padding:10px 16px;margin:18px 0}
.figure{padding:6px;margin:14px 0}
.region{padding:4px 20px 14px;margin:16px 0}.region h3{margin-bottom:.2em}
.description{font-size:1.1em}.muted{color:#5b6472;font-weight:normal}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 12px 3px 0;text-align:left;
 vertical-align:top}th{color:#5b6472;font-weight:600}
code{background:#eef1f5;padding:1px 5px;border-radius:4px}
.diagnosis{background:#fff7e6;border:1px solid #f0c36d;border-radius:6px;padding:8px 12px}
.empty{background:#eef7ee;border:1px solid #9fd19f;border-radius:8px;padding:12px 16px}
"""


def _pct(value) -> str:
    return "n/a" if value is None or not math.isfinite(value) else f"{value:.1%}"


def _tested_error(region: Region) -> tuple[str, str]:
    """The report's line on the rows that tested a region: its held-out half, or all of a
    cluster's rows, since no error chose a cluster."""
    low, high = region.heldout_interval
    interval = f", interval {_pct(low)} to {_pct(high)}"
    if region.found_by in ERROR_BLIND_FINDERS:
        return ("Tested error", f"{_pct(region.heldout_error_rate)} on all "
                f"{region.heldout_size:,} of its rows (a cluster, found without reading any "
                f"error){interval}")
    return ("Held-out error", f"{_pct(region.heldout_error_rate)} on "
            f"{region.heldout_size:,} held-out rows{interval}")


def _num(value, spec: str = ".3g") -> str:
    return "n/a" if value is None or not math.isfinite(value) else format(value, spec)


def render_report(analysis, *, title: str | None = None, iterations: list[dict] = ()) -> str:
    """Return report.html: one self-contained page to share (plotly.js inlined, no network).

    ``title`` names the data (a file or dataset name) at the top, with the settings of the
    run; ``iterations`` (``Workspace.iterations``) adds the loop's before/after per
    iteration. The map is thinned to ``REPORT_MAX_POINTS``, which the page says. Every value
    that comes from the data (column names, labels, descriptions) is HTML-escaped; the
    figures' data is embedded as JSON by plotly, which escapes ``</``.
    """
    e = html.escape
    schema, predictions = analysis.schema, analysis.predictions
    config = {"displaylogo": False}
    figures = [pio.to_html(charts.map_figure(analysis, max_points=REPORT_MAX_POINTS),
                           include_plotlyjs=True, full_html=False, config=config)]
    drawn = min(len(analysis.data), REPORT_MAX_POINTS)
    if analysis.regions:
        figures.append(pio.to_html(charts.region_error_figure(analysis),
                                   include_plotlyjs=False, full_html=False, config=config))
    facts = [("Data", title or "(a table given in Python)"),
             ("Rows", f"{len(analysis.data):,}"), ("Task", schema.task),
             ("Target", schema.target),
             ("Model", f"{predictions.source}; {predictions.score_name} "
                       f"{_num(predictions.score)}"),
             ("Error rate", _pct(analysis.baseline_error_rate)),
             ("Regions found", str(len(analysis.regions))), ("Seed", str(analysis.seed)),
             ("Features", f"{len(schema.features)}: " + ", ".join(schema.features[:8])
              + (" ..." if len(schema.features) > 8 else "")),
             ("Groups", ", ".join(schema.groups) or "none"),
             ("Pool", "none" if analysis.pool is None else f"{len(analysis.pool):,} rows")]
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>Failure regions: {e(title or schema.target)}</title>"
        f"<style>{REPORT_CSS}</style></head>"
        f"<body><main><h1>Where the model fails"
        + (f" on {e(title)}" if title else "")
        + f": predicting <code>{e(schema.target)}</code></h1><section class='summary'>",
        *(f"<div><b>{e(k)}</b>{e(v)}</div>" for k, v in facts),
        "</section><div class='howto'><b>How to read this.</b> Each region was found on one "
        "half of the rows and then tested on the other half, which played no part in finding "
        "it, so its held-out error rate and interval are honest estimates (a cluster of where "
        "rows lie, found without reading any error, is tested on all its rows). The "
        "p-values are adjusted (Benjamini-Hochberg) so that, across all regions shown, the "
        "expected share of false discoveries stays below the chosen false discovery rate."
        "</div>",
        f"<div class='figure'>{figures[0]}</div>",
        *([f"<p class='muted'>The map shows {drawn:,} of {len(analysis.data):,} rows (every "
           f"region member and every error first, the rest sampled) so the page stays small "
           f"and opens fast; every number on this page counts all rows.</p>"]
          if drawn < len(analysis.data) else []),
        "<h2>Regions, most important first</h2>",
    ]
    found = [r for r in analysis.regions if r.kind == "error"]
    gaps = [r for r in analysis.regions if r.kind == "coverage"]
    if found:
        parts.append(f"<div class='figure'>{figures[1]}</div>")
        parts.extend(_region_html(region, schema.is_classification) for region in found)
    else:
        parts.append("<p class='empty'>No region passed the test: nowhere on the map do the "
                     "model's errors cluster more than chance would explain. Its errors are "
                     "spread thinly, so more data of the same kind is better spent broadly "
                     "than on any one slice.</p>")
    if gaps:
        parts.append("<h2>Coverage gaps</h2><p>Places far more common in the new data (the "
                     "pool) than in training, tested on held-out rows of both: the model has "
                     "barely seen them, so its errors there cannot be tested yet.</p>")
        parts.extend(_region_html(region, schema.is_classification) for region in gaps)
    if analysis.collection_list is not None:
        parts.append(f"<h2>Collection list</h2><p><code>collection_list.csv</code> ranks "
                     f"{len(analysis.collection_list):,} pool rows to label next, covering the "
                     f"regions above without near-duplicates.</p>")
    if iterations:
        parts.append(_loop_html(iterations))
    if analysis.notes:
        parts.append("<h2>Notes</h2><ul>" + "".join(f"<li>{e(n)}</li>" for n in analysis.notes)
                     + "</ul>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _loop_html(iterations: list[dict]) -> str:
    """The loop's before/after: each retrain's comparison on the same rows, as the Loop
    page shows it (error before and after, the paired change and its McNemar p-value)."""
    e = html.escape
    parts = ["<h2>The loop: before and after each retrain</h2>"]
    compared = [r for r in iterations if r.get("comparison")]
    if not compared:
        parts.append("<p>No retrain yet: the workspace holds iteration 0 only.</p>")
    for record in compared:
        comparison = record["comparison"]
        parts.append(f"<h3>Iteration {record['iteration']} against iteration "
                     f"{comparison['against_iteration']} <span class='muted'>"
                     f"{record['labels']:,} labels in total</span></h3><table><tr><th></th>"
                     f"<th>Rows</th><th>Before</th><th>After</th><th>Change, paired</th>"
                     f"<th>p (McNemar)</th></tr>")
        items = [("overall", comparison["overall"])]
        items += [(f"R{r['id']}" + (f": {r['rule']}" if r.get("rule") else ""), r)
                  for r in comparison["regions"]]
        items += list(comparison["groups"].items())
        for name, measured in items:
            paired = measured.get("paired")
            change = (f"{100 * paired['change']:+.1f} pts ({100 * paired['interval'][0]:+.1f} "
                      f"to {100 * paired['interval'][1]:+.1f})" if paired else "")
            p_value = _num(paired["p_value"], ".2g") if paired else ""
            parts.append(f"<tr><td>{e(name)}</td><td>{measured['before']['rows']:,}</td>"
                         f"<td>{_pct(measured['before']['error_rate'])}</td>"
                         f"<td>{_pct(measured['after']['error_rate'])}</td>"
                         f"<td>{e(change)}</td><td>{e(p_value)}</td></tr>")
        parts.append("</table>")
    return "".join(parts)


def _region_html(region, is_classification: bool) -> str:
    e = html.escape
    low, high = region.heldout_interval
    if region.rule:
        rule = (f"<code>{e(region.rule)}</code> (precision {_pct(region.rule_precision)}, "
                f"coverage {_pct(region.rule_coverage)})")
    else:
        rule = "No simple rule fits this region; see the example rows."
    rows = [
        ("Error rate", f"{_pct(region.error_rate)} vs {_pct(region.baseline_error_rate)} "
                       f"overall (lift ×{_num(region.lift, '.2f')})"),
        _tested_error(region),
        ("Adjusted p-value", _num(region.p_value, ".2g")),
        ("Compactness", _num(region.compactness, ".2f")),
    ] if region.kind == "error" else [
        ("Share of new data", f"{_pct(region.pool_share)} vs {_pct(region.training_share)} "
                              f"of training ({region.size:,} rows)"),
        ("Training rows' error", f"{_pct(region.error_rate)} on {region.size:,} rows, "
                                 f"interval {_pct(low)} to {_pct(high)}"
         if region.size else "unknown: training has no such rows"),
        ("Adjusted p-value (coverage test)", _num(region.p_value, ".2g")),
    ]
    table = "".join(f"<tr><th>{k}</th><td>{e(v)}</td></tr>" for k, v in rows)
    parts = [f"<section class='region' id='region-{region.id}'><h3>Region {region.id} "
             f"<span class='muted'>{region.size:,} rows</span></h3>"
             f"<p class='description'>{e(region.description)}</p><table>{table}"
             f"<tr><th>Rule</th><td>{rule}</td></tr></table>"]
    if region.diagnosis:
        advice = advice_title(region.diagnosis, region.suggested_rows)
        evidence = f"<br><span class='muted'>{e(region.evidence)}</span>" \
            if region.evidence else ""
        parts.append(f"<p class='diagnosis'><b>{e(advice)}.</b>{evidence}</p>")
    if region.contrasts:
        parts.append("<p><b>What sets it apart</b></p><ul>"
                     + "".join(f"<li>{e(c.text)}</li>" for c in region.contrasts) + "</ul>")
    if region.group_shares:
        cells = "".join(f"<tr><td>{e(g.column)} = {e(str(g.value))}</td>"
                        f"<td>{_pct(g.share_in_region)}</td><td>{_pct(g.share_overall)}</td>"
                        f"<td>{_pct(g.error_rate_in_region)}</td></tr>"
                        for g in region.group_shares)
        parts.append("<p><b>Group composition</b></p><table><tr><th>Group</th><th>In region"
                     "</th><th>Overall</th><th>Error in region</th></tr>" + cells + "</table>")
    if region.words:
        parts.append("<p><b>Words its texts use more than the rest:</b> "
                     + ", ".join(e(word) for word in region.words) + "</p>")
    if is_classification and region.confusions:
        parts.append("<p><b>Most common mistakes:</b> " + "; ".join(
            f"true {e(str(t))} predicted as {e(str(p))} ({n})" for t, p, n in region.confusions) + "</p>")
    if region.examples:
        parts.append("<p><b>Example rows</b> (0-based positions): "
                     + ", ".join(str(int(i)) for i in region.examples) + "</p>")
    parts.append("</section>")
    return "".join(parts)
