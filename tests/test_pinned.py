"""Same inputs, same seed, same regions: on every machine that installs the locked set.

A small planted run's regions are pinned by their member rows (not just counts) in
``tests/pinned/planted_regions.json``. When a dependency's new version or a change to the
search moves them, this test fails with what moved, instead of a demo flipping silently on
a fresh machine. If the change is intended (a new finder, a deliberate upgrade of the lock),
rewrite the file with ``EXPLORER_REPIN=1 pytest tests/test_pinned.py`` and say why in the
commit.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from explorer.stats import jaccard

PINNED = Path(__file__).parent / "pinned" / "planted_regions.json"


def _regions(analysis) -> list[dict]:
    return [{"id": r.id, "size": r.size, "rule": r.rule, "rows": r.rows.tolist()}
            for r in analysis.regions]


def _drift(found: list[dict], pinned: list[dict]) -> str:
    lines = [f"{len(found)} region(s) found, {len(pinned)} pinned."]
    for expected in pinned:
        best = max(found, key=lambda r: jaccard(r["rows"], expected["rows"]), default=None)
        overlap = jaccard(best["rows"], expected["rows"]) if best else 0.0
        lines.append(f"pinned R{expected['id']} ({expected['size']} rows, {expected['rule']}): "
                     + (f"closest found R{best['id']} ({best['size']} rows, {best['rule']}), "
                        f"member Jaccard {overlap:.2f}" if best else "no region found"))
    return " ".join(lines)


def test_a_small_planted_run_gives_the_pinned_member_rows(planted_analysis):
    found = _regions(planted_analysis)
    if os.environ.get("EXPLORER_REPIN") == "1":
        PINNED.write_text(json.dumps({"seed": planted_analysis.seed, "regions": found}) + "\n",
                          encoding="utf-8")
        pytest.skip("pinned regions rewritten; commit tests/pinned/planted_regions.json")
    pinned = json.loads(PINNED.read_text(encoding="utf-8"))
    assert pinned["seed"] == planted_analysis.seed
    assert found == pinned["regions"], (
        "The regions of the pinned planted run changed. " + _drift(found, pinned["regions"])
        + " Same inputs and seed must give the same regions on every machine with the locked "
          "set: check that the environment was installed from the lock file (make setup). "
          "If the change is intended, repin (see this module's docstring).")
