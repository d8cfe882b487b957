"""Diagnosis from a medical record, scored by normalised string match.

The SFT rows with ``task == "diagnosis"`` ask for the diagnosis of a record; their answer is
a template around it (``最可能的诊断是：急性阑尾炎``). The reference is what follows the first
colon of that answer, up to the line's end (the whole first line when there is no colon).

Both the reference and the model's answer are normalised: NFKC (full-width → half-width),
traditional → simplified (OpenCC), lower case, punctuation and whitespace removed. A
reference may list several diagnoses (``社区获得性肺炎；高血压病2级``): the first is the
principal diagnosis and the one that must match. It matches when it is contained in the
normalised answer, or when the answer's own diagnosis (read as the reference is read) is
contained in it, so ``肺炎`` matches ``社区获得性肺炎``; an answer of fewer than
``MIN_ANSWER_CHARS`` characters never matches that way (``炎`` is not a diagnosis).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from opencc import OpenCC

MIN_ANSWER_CHARS = 2
_SEPARATORS = re.compile(r"[；;，,、\n]")
_COLON = re.compile(r"[:：]")


@cache
def _converter() -> OpenCC:
    return OpenCC("t2s")


def normalise(text: str) -> str:
    """Half-width, simplified, lower case, no punctuation, symbols or whitespace."""
    text = _converter().convert(unicodedata.normalize("NFKC", text)).lower()
    return "".join(c for c in text if unicodedata.category(c)[0] not in "PZSC")


def stated_diagnosis(answer: str) -> str:
    """What follows the first colon of the first line that has one, else the first line."""
    lines = [line.strip() for line in answer.strip().splitlines() if line.strip()]
    for line in lines:
        parts = _COLON.split(line, maxsplit=1)
        if len(parts) == 2 and parts[1].strip():
            return parts[1].strip()
    return lines[0] if lines else ""


def principal_diagnosis(reference: str) -> str:
    """The first diagnosis of a list (``社区获得性肺炎；高血压病2级`` → ``社区获得性肺炎``)."""
    return next((part.strip() for part in _SEPARATORS.split(reference) if part.strip()), "")


@dataclass(frozen=True)
class DiagnosisMatch:
    reference: str
    principal: str
    matched: bool
    how: str | None  # "reference_in_answer" or "answer_in_reference"


def match_diagnosis(reference_answer: str, model_answer: str) -> DiagnosisMatch:
    """Whether ``model_answer`` states the principal diagnosis of ``reference_answer``."""
    reference = stated_diagnosis(reference_answer)
    principal = normalise(principal_diagnosis(reference))
    answer = normalise(model_answer)
    stated = normalise(principal_diagnosis(stated_diagnosis(model_answer)))
    if principal and principal in answer:
        return DiagnosisMatch(reference, principal, True, "reference_in_answer")
    if principal and len(stated) >= MIN_ANSWER_CHARS and stated in principal:
        return DiagnosisMatch(reference, principal, True, "answer_in_reference")
    return DiagnosisMatch(reference, principal, False, None)
