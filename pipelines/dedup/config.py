"""Configs of near-duplicate removal and decontamination (YAML maps onto them one to one).

Defaults and where they come from:

* ``threshold`` 0.8 and character 5-grams: issue 4; datatrove and NeMo Curator use 5-grams
  (word and 24-char shingles) at the same threshold.
* ``num_perm`` 128, banded 32 × 4 when ``bands`` and ``rows`` are left at 0: with a
  true-Jaccard check of candidates, 32 × 4 found every pair at Jaccard ≥ 0.7 on 22k documents
  where datasketch's "optimal" 14 × 9 found 0.90 of them (FACTS.md, MinHash).
* Decontamination with character 13-grams: the 13-gram overlap test of GPT-3 (Brown et al.
  2020, appendix C), on characters because Chinese has no spaces; the share 0.5 of an item's
  13-grams is ours: huatuo answers share template phrases of 13 characters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Shingling = Literal["auto", "char", "word", "jieba"]


@dataclass
class NearDedupConfig:
    enabled: bool = True
    threshold: float = 0.8
    num_perm: int = 128
    # 0 derives them from threshold and num_perm (see pipelines.dedup.minhash.band_layout).
    bands: int = 0
    rows: int = 0
    ngram: int = 5
    shingling: Shingling = "auto"
    seed: int = 42
    # Candidates are confirmed on their shingle sets; off: on the MinHash estimate.
    true_jaccard_check: bool = True
    # A candidate is confirmed when its similarity reaches this. 0 (the default) means
    # threshold − 0.1: the bands are laid out to find pairs down to that similarity with
    # probability ≥ 0.995 (minhash.band_layout), and what the check removes is what LSH
    # finds by chance, far below. Set it to the threshold for a hard cut there.
    check_threshold: float = 0.0
    # A pair is a candidate when the two share this many bands (at most ``bands``). Two bands
    # keep a pair at Jaccard 0.7 a candidate with probability 0.998 under 32 × 4, and drop
    # most pairs that share one band by chance: at 1M benchmark documents, 3.1M candidates
    # became 0.6M (minhash.candidate_probability; benchmarks/README.md).
    min_shared_bands: int = 2
    # A bucket with more members is compared against its first member only (O(n), not O(n²)).
    max_bucket_size: int = 64
    # Band keys are shuffled in this many partitions; raise it with the corpus (memory per
    # worker is documents × bands / band_partitions band entries).
    band_partitions: int = 64
    # Large-star/small-star rounds unrolled in the graph. The pair check hands them stars
    # (its bundle's pairs contracted by union-find), which need one round when a bundle saw
    # all of a component's pairs; each further round at least halves the longest path left
    # between bundles, so 4 cover chains of 16 bundles. Nodes left unconverged are counted,
    # and the run warns. Every round is two shuffles, so rounds cost time on any corpus.
    component_rounds: int = 4


@dataclass
class EvalSetConfig:
    """One evaluation set: files, and the fields whose text makes one evaluation item."""

    name: str
    paths: list[str] = field(default_factory=list)
    # Dotted fields joined into one text; ``history`` lists are flattened.
    text_fields: list[str] = field(default_factory=lambda: ["text"])


@dataclass
class DecontamConfig:
    enabled: bool = False
    eval_sets: list[EvalSetConfig] = field(default_factory=list)
    ngram: int = 13
    # A training document goes when it holds at least this share of one evaluation item's
    # character 13-grams (a share, not "any 13-gram", so template phrases do not match).
    overlap: float = 0.5
