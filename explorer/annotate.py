"""The annotator's side of the loop: instructions, the label guide, and Label Studio.

The collection list (``suggest.py``) says which rows to label; this module turns it into the
documents an annotator works from: a Markdown sheet with the label set and the data owner's
definition of each label (a *label guide*), and the same rows as Label Studio tasks with a
labelling configuration. Labels come back either as the filled CSV or as Label Studio's JSON
export; :func:`read_label_studio_export` turns the export into the ``row``/``label`` table
that ``Workspace.ingest`` validates like any other labelled file. CVAT and Argilla would
plug in the same way: one writer of tasks, one reader of their export.
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pandas as pd

from .data import Schema, label_key
from .errors import DataError, IngestError
from .files import plain
from .suggest import OWN_COLUMNS

__all__ = ["read_label_guide", "parse_label_guide", "check_label_guide", "instructions_sheet",
           "label_studio_tasks",
           "label_studio_config", "read_label_studio_export", "NO_DEFINITION"]

NO_DEFINITION = "(definition to be written by the data owner)"
"""The slot a label without a definition shows, so the gap is visible, never silent."""
LABEL_FIELD = "label"
"""The ``name`` of the control in the Label Studio configuration; its export carries it as
``from_name``."""
FEATURES_FIELD = "features"


def read_label_guide(path, schema: Schema | None = None) -> dict[str, str]:
    """Read the data owner's definition of each label from a file (``--label-guide``).

    The file is either a JSON object ``{"label": "definition", ...}`` (``.json``) or text
    with one ``label: definition`` line per label; see :func:`parse_label_guide`.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"Could not read the label guide '{path}': {exc}. Give a UTF-8 text "
                        f"file with one 'label: definition' line per label.") from None
    return parse_label_guide(text, schema, where=f" '{path}'",
                             as_json=path.suffix.lower() == ".json")


def parse_label_guide(text: str, schema: Schema | None = None, *, where: str = "",
                      as_json: bool = False) -> dict[str, str]:
    """The label guide in ``text``: ``label: definition`` lines (blank lines, lines starting
    with ``#`` and labels left without a definition are skipped), or a JSON object.

    With ``schema``, every label must be one of the target's classes
    (:func:`check_label_guide`); the workspace checks it against its own schema.
    """
    if as_json:
        try:
            entries = json.loads(text)
        except ValueError as exc:
            raise DataError(f"The label guide{where} is not valid JSON ({exc}); write an "
                            f"object such as {{\"spam\": \"unsolicited advertising\"}}.") \
                from None
        if not isinstance(entries, dict):
            raise DataError(f"The label guide{where} holds a JSON {type(entries).__name__}; "
                            f"it must be an object mapping each label to its definition.")
    else:
        entries = {}
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            label, colon, definition = line.partition(":")
            if not colon:
                raise DataError(f"Line {number} of the label guide{where} has no colon: "
                                f"{line.strip()!r}. Write 'label: definition'.")
            if definition.strip():
                entries[label.strip()] = definition.strip()
    entries = {str(k): str(v) for k, v in entries.items()}
    return entries if schema is None else check_label_guide(entries, schema, where)


def check_label_guide(guide: dict, schema: Schema, where: str = "") -> dict[str, str]:
    """``guide`` with text keys and values, once every label it defines is a class of the
    target (a typo caught here, not by an annotator)."""
    guide = {str(k): str(v) for k, v in guide.items()}
    if not schema.is_classification:
        return guide
    known = [label_key(c) for c in schema.classes]
    unknown = [label for label in guide if label not in known]
    if unknown:
        raise DataError(f"The label guide{where} defines {unknown}, which are not labels of "
                        f"'{schema.target}'; its labels are {known}. Fix the spelling or "
                        f"remove those lines.")
    return guide


def instructions_sheet(schema: Schema, listing: pd.DataFrame,
                       label_guide: dict[str, str] | None = None) -> str:
    """The Markdown sheet that goes to annotators with the collection list.

    It lists every allowed label with the data owner's definition (or a visible slot for
    one), what to do when unsure, and each region's name, rule and row count.
    """
    guide = check_label_guide(dict(label_guide or {}), schema)
    if schema.is_classification:
        labels = ["| label | what it means |", "|---|---|", *(
            f"| `{label_key(c)}` | {guide.get(label_key(c)) or NO_DEFINITION} |"
            for c in schema.classes)]
    else:
        labels = [f"A number: the value of **{schema.target}**. "
                  + (guide.get(schema.target) or NO_DEFINITION)]
    regions = listing.groupby(["region_name", "region_rule", "source"], sort=False).size()
    rows = "row" if len(listing) == 1 else "rows"
    lines = [
        "# Labelling instructions", "",
        f"You have {len(listing)} {rows} to label in `collection_list.csv`, most important "
        f"first (column `priority`). Column `reason` says why each row was chosen; "
        f"`region_name` and `region_rule` say which weak region it is meant to cover, and "
        f"`source` whether that is a place where the model errs (`error region`) or one that "
        f"training barely covers (`coverage gap`).", "",
        f"## The labels of {schema.target}", *labels, "",
        "## What to do",
        "- Fill in the `label` column only, with one of the labels above, written exactly.",
        "- Do not edit, add or delete other columns; rows whose columns changed are rejected "
        "on ingest. You may sort the rows or delete rows you skip: `row` identifies each one.",
        "- **When unsure, leave the label empty.** An empty label is skipped, not counted as "
        "an error, and the row can be labelled later. Never guess.",
        "- A row that fits no label: leave it empty and write to the data owner; it may be a "
        "sign that a label is missing.",
        "- Cells that begin with an apostrophe (') were escaped so a spreadsheet does not run "
        "them as formulas; leave the apostrophe in place.",
        "- Columns named `pool:NAME` are the pool's own column `NAME`, renamed because the "
        "list uses that name itself.", "",
        "## Rows per region",
        *[f"- {'no region (random or uncertain rows)' if name == 'none' else name}"
          + (f": `{rule}`" if rule and rule != "(no simple rule)" else "")
          + f" - {count} {'row' if count == 1 else 'rows'}"
          + (f" ({source})" if source in ("error region", "coverage gap") else "")
          for (name, rule, source), count in regions.items()],
    ]
    return "\n".join(lines) + "\n"


def label_studio_tasks(listing: pd.DataFrame) -> list[dict]:
    """The collection list as Label Studio tasks (import them as a JSON file).

    Each task's ``data`` holds the list's own fields (``row``, ``region_name``, ``reason``,
    ...) and the pool's values under ``features``, so a pool column can never collide with
    them; values are the pool's own (missing values become ``null``).
    """
    own = [c for c in listing.columns if c in OWN_COLUMNS and c != "label"]
    pool = [c for c in listing.columns if c not in OWN_COLUMNS]
    tasks = []
    for record in listing.to_dict("records"):
        features = {(c[len("pool:"):] if c.startswith("pool:") else c): record[c]
                    for c in pool}
        tasks.append({"data": plain({**{c: record[c] for c in own},
                                     FEATURES_FIELD: features})})
    return tasks


def label_studio_config(schema: Schema, label_guide: dict[str, str] | None = None) -> str:
    """The labelling configuration (XML) for :func:`label_studio_tasks`: the row's values as
    a table, why it was chosen, and one choice per label with its definition as a hint."""
    guide = check_label_guide(dict(label_guide or {}), schema)
    if schema.is_classification:
        choices = "\n".join(
            f"    <Choice value={quoteattr(label_key(c))}"
            + (f" hint={quoteattr(guide[label_key(c)])}" if guide.get(label_key(c)) else "")
            + "/>" for c in schema.classes)
        control = (f'  <Choices name="{LABEL_FIELD}" toName="{FEATURES_FIELD}" '
                   f'choice="single" showInline="true">\n{choices}\n  </Choices>')
    else:
        control = f'  <Number name="{LABEL_FIELD}" toName="{FEATURES_FIELD}"/>'
    return ("<View>\n"
            '  <Header value="Row $row · $region_name"/>\n'
            '  <Text name="reason" value="$reason"/>\n'
            f'  <Table name="{FEATURES_FIELD}" value="${FEATURES_FIELD}"/>\n'
            f"{control}\n</View>\n")


def read_label_studio_export(source) -> pd.DataFrame:
    """Read a Label Studio JSON export of :func:`label_studio_tasks` as ``row``, ``label``.

    Accepts the full export (tasks with ``annotations``) and the minimal one (``JSON_MIN``:
    one flat object per task). Each annotation that was not cancelled gives one line, so
    two annotators who disagree on a row reach ingest as two lines with different labels,
    which ingest rejects together; a task nobody labelled gives an empty label (skipped).
    """
    try:
        tasks = json.loads(Path(source).read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise IngestError(f"Could not read the Label Studio export '{source}': {exc}. Export "
                          f"the project as JSON (or JSON_MIN) and ingest that file.") from None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) for t in tasks):
        raise IngestError(f"The Label Studio export '{source}' is not a list of tasks; export "
                          f"the project as JSON (or JSON_MIN).")
    lines = []
    for task in tasks:
        data = task.get("data", task)
        if "row" not in data:
            raise IngestError(f"A task of '{source}' has no 'row' field ({sorted(data)[:8]}); "
                              f"import the tasks explorer wrote, whose data keep 'row'.")
        if "annotations" not in task:  # JSON_MIN: the choice sits beside the data
            lines.append({"row": data["row"], "label": _flat_label(task.get(LABEL_FIELD))})
            continue
        labels = [_annotation_label(a) for a in task["annotations"]
                  if not a.get("was_cancelled")]
        lines += [{"row": data["row"], "label": label} for label in labels if label is not None]
        if not any(label is not None for label in labels):
            lines.append({"row": data["row"], "label": None})
    return pd.DataFrame(lines, columns=["row", "label"]).astype({"label": object})


def _annotation_label(annotation: dict):
    for result in annotation.get("result", []):
        if result.get("from_name") != LABEL_FIELD:
            continue
        value = result.get("value", {})
        if "choices" in value:
            return _flat_label(value["choices"])
        if "number" in value:
            return value["number"]
    return None


def _flat_label(value):
    """A choice as Label Studio writes it: a string, or a list holding one."""
    if isinstance(value, list):
        return value[0] if len(value) == 1 else None if not value else value
    return value
