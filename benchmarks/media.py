"""Media benchmark: a planted slice of images and of texts, found in their own spaces.

- *occluded-image slice on digits* (``planted_media.make_occluded_digits``): 10% of the
  1,797 digits have their lower half erased and are mispredicted 60% of the time (5%
  elsewhere). The search reads the pixels (64 columns), as the app does for digits.
- *text subtopic on tickets* (``planted_media.make_tickets``): 6% of the support tickets are
  about warranty repairs and mispredicted 60% of the time; the search reads the tickets'
  TF-IDF + SVD embedding (``explorer.text``). Also: whether a planted word leads the best
  region's distinctive words.

Per seed: the best Jaccard of the top five regions with the planted slice (recovered at >=
0.5). The null case of each: the same data with the slice mispredicted no more often than
the rest (every row at ``NULL_ERROR``), where any region found is a false one; over
``--null-seeds`` seeds (40 by default), with the rate's 95% interval. The search runs on the model's space without the 2-D map (no default finder reads it),
as in the shapes benchmark; the description (confusions, words) is computed as ``analyze``
computes it.

Run: ``python -m benchmarks media [--seeds 10] [--rows 6000]`` (rows: tickets only; the digits
are 1,797).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from explorer import describe, embed, model
from explorer.data import infer_schema
from explorer.planted_media import WEAK_TOPIC_WORDS, make_occluded_digits, make_tickets
from explorer.regions import find_regions
from explorer.rules import RuleFeatures
from explorer.stats import jaccard
from explorer.text import TextEmbedder

from . import null_rate

RESULTS = Path(__file__).resolve().parent / "results"
TOP = 5
RECOVERED = 0.5
NULL_ERROR = 0.1
"""Every row's error rate in the null case: twice the planted data's base rate, so that the
search has errors to cluster and must still find no cluster."""


def search(dataset, seed: int, *, text: str | None = None):
    """The regions found and described on a planted dataset, and the search's seconds."""
    frame, embedding = dataset.frame, ()
    if text is not None:
        embedder = TextEmbedder(random_state=seed).fit(frame[text])
        frame = pd.concat([frame, pd.DataFrame(embedder.transform(frame[text]),
                                               columns=embedder.columns())], axis=1)
        embedding = tuple(embedder.columns())
    schema = infer_schema(frame, target=dataset.target, prediction=dataset.prediction,
                          embedding=embedding or None, text=text,
                          image_shape=dataset.image_shape)
    predictions = model.honest_predictions(frame, schema, seed=seed)
    data_map = embed.model_space_only(frame, schema, predictions)
    rule_features = RuleFeatures.from_frame(frame, schema)
    started = time.perf_counter()
    found = find_regions(data_map, predictions.is_error, rule_features, seed=seed)
    spent = time.perf_counter() - started
    regions = describe.describe_regions(found.regions[:TOP], frame, schema, predictions,
                                        data_map, rule_features, seed=seed)
    return regions, spent


def best(regions, planted: np.ndarray):
    """The top region that overlaps the planted rows most, and that overlap."""
    scored = [(jaccard(region.rows, planted), region) for region in regions[:TOP]]
    return max(scored, key=lambda pair: pair[0], default=(0.0, None))


def main(argv: list[str], *, quick: bool = False) -> str:
    parser = argparse.ArgumentParser(prog="python -m benchmarks media",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3 if quick else 10)
    parser.add_argument("--rows", type=int, default=2000 if quick else 6000)
    parser.add_argument("--null-seeds", type=int, default=5 if quick else 40)
    args = parser.parse_args(argv)
    lines = [f"Media benchmark: seeds 0-{args.seeds - 1}, best Jaccard of the top {TOP} "
             f"regions with the planted slice",
             "| case | median Jaccard | mean | recovered (>= 0.5) | other measure | "
             "null: seeds with a region | search s (median) |",
             "|---|---|---|---|---|---|---|"]
    cases = [("occluded-image slice on digits (1,797 images)",
              lambda seed, **errors: make_occluded_digits(seed=seed, **errors), None,
              "occluded", "best region's sentence led by a confusion"),
             (f"text subtopic on tickets ({args.rows:,} texts)",
              lambda seed, **errors: make_tickets(args.rows, seed=seed, **errors), "ticket",
              "warranty", "a planted word leads the best region's words")]
    for name, make, text, planted, other in cases:
        false_alarms = sum(
            bool(search(make(seed, base_error=NULL_ERROR, region_error=NULL_ERROR), seed,
                        text=text)[0])
            for seed in range(args.null_seeds))
        scores, held, seconds = [], [], []
        for seed in range(args.seeds):
            dataset = make(seed)
            regions, spent = search(dataset, seed, text=text)
            score, region = best(regions, dataset.planted[planted])
            scores.append(score)
            seconds.append(spent)
            if region is None:
                held.append(False)
            elif text is None:
                held.append(region.description.startswith("True "))
            else:
                held.append(bool(region.words) and region.words[0] in WEAK_TOPIC_WORDS.split()
                            + ["refund"])
        scores = np.asarray(scores)
        lines.append(f"| {name} | {np.median(scores):.2f} | {scores.mean():.2f} | "
                     f"{np.mean(scores >= RECOVERED):.0%} | {other}: {sum(held)}/{len(held)} | "
                     f"{null_rate(false_alarms, args.null_seeds)} | {np.median(seconds):.1f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "media.txt").write_text(text + "\n", encoding="utf-8")
    return text
