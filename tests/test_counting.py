"""Counts every stage makes: length histograms use one rule for a document and a batch."""

from __future__ import annotations

import numpy as np

from pipelines.counting import length_bucket, length_buckets


def test_a_length_falls_in_the_same_bucket_alone_and_in_a_batch() -> None:
    # A one-line note, a short record, a discharge summary, a chapter: edges 0, 50, ... 50000.
    lengths = [0, 1, 49, 50, 51, 499, 500, 1999, 2000, 16000, 49999, 50000, 10**6]
    assert length_buckets(np.array(lengths)).tolist() == [length_bucket(n) for n in lengths]
    assert [length_bucket(n) for n in lengths] == [0, 0, 0, 1, 1, 3, 4, 5, 6, 9, 9, 10, 10]
