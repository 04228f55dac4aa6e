"""Text as an input: a column of free text embedded offline, and what sets a text region apart.

The built-in embedding is latent semantic analysis: TF-IDF weights of words and word pairs,
reduced by a seeded TruncatedSVD (both scikit-learn). It needs no model weights and no
network, is reproducible from its seed, and places texts that share vocabulary near each
other, which is what the region search's neighbourhoods need. A user with better vectors
(a sentence encoder's) passes them as ``embedding=`` columns or a ``.npy`` file instead.

A text region is described by the words its texts use more than the rest (log-odds z-scores,
``stats.log_odds_z``) and by example texts, not by a rule over SVD components, which no
person can read.

Examples
--------
>>> import pandas as pd
>>> texts = pd.Series(["late delivery", "broken screen", "late again", "screen cracked"] * 10)
>>> TextEmbedder(dimensions=2, random_state=0).fit_transform(texts).shape
(40, 2)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from .errors import DataError, check_int
from .stats import log_odds_z

__all__ = ["TextEmbedder", "distinctive_words", "TEXT_COLUMN_PREFIX"]

TEXT_COLUMN_PREFIX = "text_lsa_"
"""Names of the embedding columns made from a text column: ``text_lsa_0``, ``text_lsa_1``..."""
DIMENSIONS = 64
"""Components kept: enough that topics a few percent of the texts share get their own
directions, few enough that the neighbourhood search stays fast on 50,000 texts."""
MIN_TEXTS_PER_WORD = 2
"""A word seen in a single text cannot make two texts neighbours; dropping such words keeps
the vocabulary (and typos) small."""
MAX_WORDS = 50_000
"""Vocabulary cap for both the embedding and the description, most frequent first."""
TOP_WORDS = 6
MIN_WORD_Z = 3.0
"""A word is said to set a region apart only when its log-odds z-score passes this (about a
one-sided p of 0.001 before looking at thousands of words, so shown words are rarely noise)."""


class TextEmbedder(TransformerMixin, BaseEstimator):
    """TF-IDF of words and word pairs, reduced by a seeded TruncatedSVD and normalised.

    Parameters
    ----------
    dimensions : int, default 64
        Components kept; clipped below the vocabulary size and the number of texts.
    random_state : int, default 0
    """

    def __init__(self, dimensions: int = DIMENSIONS, random_state: int = 0):
        self.dimensions = dimensions
        self.random_state = random_state

    def fit(self, texts, y=None) -> "TextEmbedder":
        check_int(self.dimensions, name="dimensions", owner="TextEmbedder", low=1)
        documents = _documents(texts)
        self.vectorizer_ = TfidfVectorizer(min_df=min(MIN_TEXTS_PER_WORD, len(documents)),
                                           max_features=MAX_WORDS, ngram_range=(1, 2),
                                           sublinear_tf=True, strip_accents="unicode")
        try:
            weights = self.vectorizer_.fit_transform(documents)
        except ValueError:  # every text empty, or only stop characters
            raise DataError("The text column holds no words (every text is empty or "
                            "punctuation); pass a column of text, or leave text= unset.") from None
        components = max(1, min(self.dimensions, weights.shape[1] - 1, len(documents) - 1))
        self.svd_ = TruncatedSVD(n_components=components, random_state=self.random_state)
        self.svd_.fit(weights)
        return self

    def transform(self, texts) -> np.ndarray:
        reduced = self.svd_.transform(self.vectorizer_.transform(_documents(texts)))
        norms = np.linalg.norm(reduced, axis=1, keepdims=True)
        # unit length: the neighbourhoods then compare topics, not text lengths
        return (reduced / np.where(norms > 0, norms, 1.0)).astype(np.float32)

    def columns(self) -> list[str]:
        """The names of the embedding columns this embedder makes."""
        return [f"{TEXT_COLUMN_PREFIX}{i}" for i in range(self.svd_.n_components)]

    def with_columns(self, table: pd.DataFrame, column: str, *, what: str) -> pd.DataFrame:
        """``table`` with the vectors of its ``column`` of texts as :meth:`columns` (made anew
        when it has them already); ``what`` names the table in the error for a missing
        column. Each row's vector depends on its own text alone."""
        if column not in table.columns:
            raise DataError(f"The {what} lacks the text column '{column}' that the data's "
                            f"embedding is made from; add it to the {what}.")
        names = self.columns()
        vectors = pd.DataFrame(self.transform(table[column]), columns=names, index=table.index)
        return pd.concat([table.drop(columns=names, errors="ignore"), vectors], axis=1)


def _documents(texts) -> list[str]:
    """Texts as strings; a missing text is an empty one (it has no words)."""
    return pd.Series(texts).astype("string").fillna("").astype(str).tolist()


def distinctive_words(texts, members: np.ndarray, *, top: int = TOP_WORDS) -> list[str]:
    """The words the member texts use more than the other texts, most telling first.

    Counts are per text (a word repeated in one text counts once), so one long text cannot
    carry a word alone; only words with a z-score above ``MIN_WORD_Z`` are returned.
    """
    members = np.asarray(members, dtype=bool)
    documents = _documents(texts)
    if members.all() or not members.any():
        return []
    counter = CountVectorizer(binary=True, min_df=min(MIN_TEXTS_PER_WORD, len(documents)),
                              max_features=MAX_WORDS, strip_accents="unicode")
    try:
        present = counter.fit_transform(documents)
    except ValueError:  # no words at all
        return []
    counts_in = np.asarray(present[members].sum(axis=0)).ravel()
    counts_out = np.asarray(present[~members].sum(axis=0)).ravel()
    scores = log_odds_z(counts_in, counts_out)
    order = np.argsort(-scores, kind="stable")[:top]
    words = counter.get_feature_names_out()
    return [str(words[i]) for i in order if scores[i] >= MIN_WORD_Z]
