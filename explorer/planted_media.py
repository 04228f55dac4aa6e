"""Images and texts with a planted weak region: the known answers for the media paths.

- :func:`make_occluded_digits`: scikit-learn's digits with a seeded share of the images
  partly blanked out (a block of the picture erased, as by a thumb or a sticker) and a
  prediction column that errs mostly on them. No rule on a pixel or two describes the
  slice; in pixel space the occluded images are near each other, so the neighbourhood
  finder should return them, described by their confusions.
- :func:`make_tickets`: short support tickets in four categories, where the tickets about one
  subtopic (warranty repairs) are mislabelled by the model far more often. In the text's
  embedding they sit together, and their distinctive words name the subtopic.

Both return a :class:`~explorer.datasets.Dataset` with ``planted={name: rows}`` and a
``prediction`` column, like :func:`~explorer.datasets.make_planted`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .datasets import Dataset, list_datasets, load_dataset
from .errors import check_fraction, check_int

__all__ = ["make_occluded_digits", "make_tickets", "OCCLUDED_ROWS", "TICKET_TOPICS",
           "WEAK_TOPIC_WORDS"]

OCCLUDED_ROWS = slice(4, 8)
"""The image rows erased in an occluded digit: the lower half, where 3, 5, 8 and 9 differ."""
BASE_ERROR = 0.05
REGION_ERROR = 0.6
"""Flip probabilities outside and inside the planted slice: like a 95%-accurate model that
is wrong more often than right on the planted rows."""

TICKET_TOPICS = {
    "shipping": "parcel delivery courier tracking arrived late address package shipped box",
    "billing": "invoice charge payment card refund price bill subscription charged receipt",
    "account": "password login email account username locked reset profile sign verify",
    "hardware": "screen battery charger keyboard speaker button cable camera power device",
}
"""Each category's vocabulary; a ticket draws most of its words from its category's."""
WEAK_TOPIC_WORDS = "warranty repair replacement technician guarantee"
"""The planted subtopic: hardware tickets about warranty repairs, which the model often
takes for billing (they also talk about money back)."""
FILLER = ("please help my the it is not working since yesterday thanks hello again why "
          "still waiting need urgent today order").split()
TICKET_WORDS = 9
"""Words per ticket: a short message, like most support tickets' first line."""


def make_occluded_digits(*, seed: int = 0, share: float = 0.1,
                         base_error: float = BASE_ERROR,
                         region_error: float = REGION_ERROR) -> Dataset:
    """The digits with ``share`` of the images half erased and mispredicted there.

    Parameters
    ----------
    seed : int, default 0
        Chooses the occluded images and the flips.
    share : float, default 0.1
        Share of images occluded, in (0, 1).
    base_error, region_error : float
        Probability that the ``prediction`` column is a wrong digit outside and inside the
        occluded slice.

    Returns
    -------
    Dataset
        Columns ``pixel_0 .. pixel_63, label, prediction``; ``image_shape=(8, 8)``;
        ``planted={"occluded": rows}``.
    """
    owner = "make_occluded_digits"
    seed = check_int(seed, name="seed", owner=owner, low=0)
    share = check_fraction(share, name="share", owner=owner)
    base_error = check_fraction(base_error, name="base_error", owner=owner)
    region_error = check_fraction(region_error, name="region_error", owner=owner)
    digits = load_dataset("digits")
    frame = digits.frame.copy()
    rng = np.random.default_rng(seed)
    occluded = np.sort(rng.choice(len(frame), max(1, round(share * len(frame))),
                                  replace=False)).astype(np.int64)
    height, width = digits.image_shape
    pixels = frame[[f"pixel_{i}" for i in range(height * width)]].to_numpy().reshape(
        -1, height, width).copy()
    pixels[occluded, OCCLUDED_ROWS, :] = 0
    frame[[f"pixel_{i}" for i in range(height * width)]] = pixels.reshape(len(frame), -1)
    in_slice = np.zeros(len(frame), dtype=bool)
    in_slice[occluded] = True
    labels = frame["label"].to_numpy()
    frame["prediction"] = _flipped(labels, in_slice, base_error, region_error, rng)
    return Dataset(
        name="occluded_digits", title="Digits, part occluded (synthetic slice)", frame=frame,
        target="label", prediction="prediction", image_shape=(height, width),
        planted={"occluded": occluded}, source=digits.source,
        description=f"The 8x8 digits with {share:.0%} of the images' lower half erased; the "
                    f"prediction is wrong {region_error:.0%} of the time there and "
                    f"{base_error:.0%} elsewhere.")


def make_tickets(n_rows: int = 2000, *, seed: int = 0, weak_share: float = 0.06,
                 base_error: float = BASE_ERROR, region_error: float = REGION_ERROR
                 ) -> Dataset:
    """Support tickets in four categories, with a weak subtopic (warranty repairs).

    Parameters
    ----------
    n_rows : int, default 2000
        Tickets, at least 100.
    seed : int, default 0
    weak_share : float, default 0.06
        Share of tickets about warranty repairs (all labelled ``hardware``).
    base_error, region_error : float
        Probability that ``prediction`` is a wrong category outside and inside the subtopic.

    Returns
    -------
    Dataset
        Columns ``ticket`` (the text), ``channel`` (email/chat/phone, unrelated to errors),
        ``label``, ``prediction``; ``planted={"warranty": rows}``.
    """
    owner = "make_tickets"
    n_rows = check_int(n_rows, name="n_rows", owner=owner, low=100)
    seed = check_int(seed, name="seed", owner=owner, low=0)
    weak_share = check_fraction(weak_share, name="weak_share", owner=owner)
    rng = np.random.default_rng(seed)
    topics = list(TICKET_TOPICS)
    labels = rng.choice(topics, n_rows)
    weak = np.sort(rng.choice(np.flatnonzero(labels == "hardware"),
                              round(weak_share * n_rows), replace=False)).astype(np.int64)
    in_slice = np.zeros(n_rows, dtype=bool)
    in_slice[weak] = True
    tickets = []
    for row, topic in enumerate(labels):
        vocabulary = TICKET_TOPICS[topic].split()
        topical = rng.choice(vocabulary, 4)
        if in_slice[row]:  # two subtopic words and a money word, as such tickets read
            topical = [*rng.choice(WEAK_TOPIC_WORDS.split(), 2), "refund", topical[0]]
        words = [*topical, *rng.choice(FILLER, TICKET_WORDS - len(topical))]
        tickets.append(" ".join(rng.permutation(words)).capitalize() + ".")
    frame = pd.DataFrame({"ticket": tickets,
                          "channel": rng.choice(["email", "chat", "phone"], n_rows),
                          "label": labels})
    frame["prediction"] = _flipped(labels, in_slice, base_error, region_error, rng)
    listing = next(info for info in list_datasets() if info.name == "tickets")
    return Dataset(
        name="tickets", title=listing.title, frame=frame, target="label",
        prediction="prediction", planted={"warranty": weak}, text="ticket",
        source=listing.source,
        description=f"{n_rows:,} short support tickets in four categories; the model is "
                    f"wrong {region_error:.0%} of the time on warranty repairs "
                    f"({weak_share:.0%} of tickets) and {base_error:.0%} elsewhere.")


def _flipped(labels: np.ndarray, in_slice: np.ndarray, base_error: float, region_error: float,
             rng: np.random.Generator) -> np.ndarray:
    """``labels`` with each row replaced by another class at its slice's error rate."""
    classes = np.unique(labels)
    flip = rng.random(len(labels)) < np.where(in_slice, region_error, base_error)
    shift = rng.integers(1, len(classes), len(labels))  # never back to the true class
    position = np.searchsorted(classes, labels)
    return np.where(flip, classes[(position + shift) % len(classes)], labels)
