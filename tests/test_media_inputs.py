"""Embeddings, texts and images as inputs: planted answers that hold on every seed.

- Vectors (columns, an array or a ``.npy`` file) drive the model's space, and a cluster
  planted in them comes back as a region; bad vectors are refused with the fix.
- A text column is embedded offline and a planted subtopic comes back, named by its words.
- An image region is described by its confusions, never by a pixel rule.
"""

from __future__ import annotations

import dataclasses
import html
import io

import numpy as np
import pandas as pd
import pytest

import explorer
from conftest import HOSTILE
from explorer import charts, cli, describe, embed
from explorer.data import image_shapes, infer_schema, text_columns
from explorer.errors import DataError
from explorer.planted_media import make_occluded_digits, make_tickets
from explorer.rules import RuleFeatures
from explorer.stats import jaccard, log_odds_z
from explorer.text import TextEmbedder, distinctive_words
from explorer.types import DataMap, Predictions, Region

RECOVERED = 0.5


def vectors_table(seed: int = 0, n_rows: int = 1000):
    """A table whose columns say nothing, with 6-D vectors holding a cluster of 10% of the
    rows where the given predictions are wrong half the time (6% elsewhere)."""
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n_rows, 6))
    cluster = rng.random(n_rows) < 0.1
    vectors[cluster, :2] = rng.normal(2.2, 0.3, size=(int(cluster.sum()), 2))
    label = rng.integers(0, 2, n_rows)
    flipped = rng.random(n_rows) < np.where(cluster, 0.55, 0.06)
    frame = pd.DataFrame({"x": rng.normal(size=n_rows), "label": label,
                          "pred": np.where(flipped, 1 - label, label)})
    return frame, vectors.astype(np.float32), np.flatnonzero(cluster)


@pytest.fixture(scope="module")
def vectors_analysis():
    frame, vectors, cluster = vectors_table()
    return explorer.analyze(frame, target="label", prediction="pred", embedding=vectors,
                            seed=0), frame, vectors, cluster


def test_vectors_drive_the_model_space_and_their_cluster_is_found(vectors_analysis):
    analysis, _, vectors, cluster = vectors_analysis
    assert analysis.schema.embedding == tuple(f"embedding_{i}" for i in range(6))
    assert embed.input_space(analysis.map).shape == (len(vectors), 6)  # not the column x
    assert max(jaccard(r.rows, cluster) for r in analysis.regions[:5]) >= RECOVERED


def test_a_npy_file_and_columns_give_the_same_regions(vectors_analysis, tmp_path):
    analysis, frame, vectors, _ = vectors_analysis
    path = tmp_path / "vectors.npy"
    np.save(path, vectors)
    from_file = explorer.analyze(frame, target="label", prediction="pred", embedding=path,
                                 seed=0)
    columns = frame.assign(**{f"v{i}": vectors[:, i] for i in range(6)})
    from_columns = explorer.analyze(columns, target="label", prediction="pred",
                                    embedding=[f"v{i}" for i in range(6)], features=["x"],
                                    seed=0)
    expected = [r.rows.tolist() for r in analysis.regions]
    assert [r.rows.tolist() for r in from_file.regions] == expected
    assert [r.rows.tolist() for r in from_columns.regions] == expected


def _bad_vectors(tmp_path):
    good = np.zeros((50, 3))
    nan = good.copy()
    nan[[4, 7], 1] = np.nan
    objects = np.array([{"a": 1}] * 50, dtype=object)
    np.save(tmp_path / "objects.npy", objects, allow_pickle=True)
    (tmp_path / "vectors.txt").write_text("1,2,3")
    return {
        "rows": (np.zeros((49, 3)), "has 49 vectors but the data has 50 rows"),
        "one-d": (np.zeros(50), "shape (50,)"),
        "nan": (nan, "2 rows with missing or infinite values (rows 4, 7)"),
        "text": (np.full((50, 2), "a"), "must be real numbers"),
        "pickle": (tmp_path / "objects.npy", "pickled objects are never loaded"),
        "suffix": (tmp_path / "vectors.txt", "are read from a .npy file"),
        "missing": (tmp_path / "absent.npy", "does not exist"),
    }


@pytest.mark.parametrize("case", ["rows", "one-d", "nan", "text", "pickle", "suffix",
                                  "missing"])
def test_bad_vectors_are_refused_with_the_fix(tmp_path, case):
    vectors, message = _bad_vectors(tmp_path)[case]
    frame = pd.DataFrame({"x": np.arange(50.0), "label": np.arange(50) % 2})
    with pytest.raises(DataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        explorer.analyze(frame, target="label", embedding=vectors)


def test_vector_columns_never_overwrite_a_users_column():
    frame = pd.DataFrame({"embedding_0": np.arange(50.0), "label": np.arange(50) % 2})
    with pytest.raises(DataError, match=r"already has column\(s\) \['embedding_0'\]"):
        embed.with_vector_columns(frame, np.zeros((50, 2)))


def test_cli_reads_the_npy_beside_the_table_and_refuses_a_bad_one(tmp_path):
    frame, _, _ = vectors_table(n_rows=60)
    frame.to_csv(tmp_path / "scored.csv", index=False)
    np.save(tmp_path / "scored.npy", np.zeros((59, 4)))
    out, err = io.StringIO(), io.StringIO()
    code = cli.main(["analyze", str(tmp_path / "scored.csv"), "--target", "label",
                     "--prediction", "pred", "--out", str(tmp_path / "out")],
                    stdout=out, stderr=err)
    assert code == 2
    assert "Using the vectors in" in err.getvalue()
    assert err.getvalue().strip().splitlines()[-1].startswith("explorer: error: The embedding "
                                                               "file 'scored.npy' has 59")


# --- text ---------------------------------------------------------------------------------

def test_text_embedding_is_seeded_and_refits_like_new():
    texts = make_tickets(300, seed=0).frame["ticket"]
    first = TextEmbedder(dimensions=8, random_state=3).fit_transform(texts)
    embedder = TextEmbedder(dimensions=8, random_state=3).fit(texts[:100])
    np.testing.assert_allclose(embedder.fit(texts).transform(texts), first, atol=1e-5)
    assert np.allclose(np.linalg.norm(first, axis=1), 1, atol=1e-4)


def test_distinctive_words_name_a_planted_word_and_nothing_in_noise():
    rng = np.random.default_rng(0)
    words = np.array("apple pear plum fig kiwi lime lemon melon grape peach".split())
    texts = [" ".join(rng.choice(words, 5)) for _ in range(600)]
    members = np.zeros(600, dtype=bool)
    members[:60] = True
    assert distinctive_words(texts, members) == []  # the same words everywhere
    planted = [t + " mango" if m else t for t, m in zip(texts, members)]
    assert distinctive_words(planted, members)[0] == "mango"


def test_log_odds_turns_sign_when_the_sets_swap():
    counts_in, counts_out = np.array([30, 5, 1]), np.array([10, 40, 1])
    np.testing.assert_allclose(log_odds_z(counts_in, counts_out),
                               -log_odds_z(counts_out, counts_in))
    assert log_odds_z(counts_in, counts_out)[0] > 0 > log_odds_z(counts_in, counts_out)[1]


def test_a_text_subtopic_is_found_and_described_by_its_words():
    tickets = make_tickets(600, seed=1)
    analysis = explorer.analyze(tickets.frame, target="label", prediction="prediction",
                                text="ticket", seed=0)
    assert analysis.schema.text == "ticket" and "ticket" not in analysis.schema.features
    best = max(analysis.regions[:5], key=lambda r: jaccard(r.rows, tickets.planted["warranty"]))
    assert jaccard(best.rows, tickets.planted["warranty"]) >= RECOVERED
    assert {"warranty", "repair", "guarantee"} & set(best.words)
    assert repr(best.words[0]) in best.description


def test_the_columns_offered_as_text_are_those_left_out_as_free_text():
    frame = make_tickets(300, seed=0).frame.assign(note="short", code=lambda f: f.index)
    assert text_columns(frame) == ["ticket"]
    schema = infer_schema(frame, target="label", prediction="prediction")
    assert [c for c, why in schema.ignored.items() if why.startswith("free text")] == ["ticket"]


def test_a_missing_text_column_is_named():
    frame = pd.DataFrame({"x": np.arange(50.0), "label": np.arange(50) % 2})
    with pytest.raises(DataError, match="text column 'review' is not in the data"):
        explorer.analyze(frame, target="label", text="review")


# --- images -------------------------------------------------------------------------------

def test_an_image_region_is_described_by_its_confusions_not_pixels():
    digits = make_occluded_digits(seed=0)
    frame = digits.frame
    schema = infer_schema(frame, target="label", prediction="prediction", image_shape=(8, 8))
    truth, predicted = frame["label"].to_numpy(), frame["prediction"].to_numpy()
    wrong = truth != predicted
    predictions = Predictions(predicted=predicted, error=wrong.astype(float), is_error=wrong,
                              probabilities=None, classes=schema.classes, source="given",
                              score=1 - wrong.mean(), score_name="accuracy")
    rows = digits.planted["occluded"]
    region = Region(id=1, rows=rows, size=len(rows), error_rate=float(wrong[rows].mean()),
                    baseline_error_rate=float(wrong.mean()), lift=3.0, p_value=1e-6,
                    heldout_error_rate=0.5, heldout_size=len(rows) // 2,
                    heldout_interval=(0.4, 0.6), compactness=0.9, excess_errors=50.0)
    space = frame[list(schema.numeric)].to_numpy(float)
    data_map = DataMap(coords=space[:, :2], model_space=space, n_fitted=len(frame),
                       from_cache=False)
    described, = describe.describe_regions([region], frame, schema, predictions, data_map,
                                           RuleFeatures.from_frame(frame, schema), seed=0)
    assert described.rule is None and not described.contrasts
    top_truth, top_predicted, count = described.confusions[0]
    assert described.description.startswith(
        f"True {top_truth} -> predicted {top_predicted} ({count})")
    assert f"{len(rows):,} images" in described.description
    assert "pixel" not in described.description


def test_pixel_columns_offer_their_shapes_squarest_first_and_a_wrong_shape_is_refused():
    digits = make_occluded_digits(seed=0).frame
    assert image_shapes(digits) == [(8, 8), (4, 16), (16, 4)]
    assert image_shapes(digits.drop(columns="pixel_63")) == [(7, 9), (9, 7)]
    assert image_shapes(digits.drop(columns=[f"pixel_{i}" for i in range(16, 64)])) == [(4, 4)]
    assert image_shapes(digits.drop(columns="pixel_0")) == []  # they must start at pixel_0
    assert image_shapes(digits.assign(pixel_5="dark")) == []  # and hold numbers
    with pytest.raises(DataError, match="pixel_0 .. pixel_99"):
        infer_schema(digits, target="label", image_shape=(10, 10))


def test_the_map_hover_shows_a_rows_text_escaped(tiny_analysis):
    schema = dataclasses.replace(tiny_analysis.schema, text="city")
    figure = charts.map_figure(dataclasses.replace(tiny_analysis, schema=schema))
    shown = [text for trace in figure.data if trace.text is not None for text in trace.text]
    assert any(html.escape(HOSTILE) in text for text in shown)
    assert not any(HOSTILE in text for text in shown)
