"""Which option(s) a generated answer to a multiple-choice item chose.

Tried in order, the first that names letters among the item's options wins:

1. a marked answer: ``答案：B``, ``正确答案为A、C``, ``【答案】D``, ``故选B``, ``应选 AC``,
   ``answer: B`` (the last marked answer, since models restate the question's wording
   first), with the options listed after it (``答案是A. 肝；C. 肾`` chose AC);
2. letters opening the text: ``B``, ``B、慢阻肺``, ``(B)``, ``AC``, ``A、C、D。``;
3. option texts: every option whose whole text appears in the answer (an option whose text
   lies inside another found option's text is not counted twice).

Text is NFKC-folded first, so full-width ``Ｂ`` and ``：`` read as ``B`` and ``:``. A letter
that is not among the options voids the choice: ``答案：F`` on an A-E item chose nothing.
"""

from __future__ import annotations

import re
import unicodedata

_LETTER_RUN = r"[A-H](?:\s*[、,，/和及与]?\s*[A-H])*"
_MARKED = re.compile(
    r"(?:答案|正确答案|正确选项|answer)\s*[】\]]?\s*(?:是|为|应为|应是|选|应选|is)?\s*[:：]?\s*"
    rf"[（(]?({_LETTER_RUN})",
    re.IGNORECASE,
)
_CHOOSE = re.compile(rf"选(?:择|项)?\s*[:：]?\s*[（(]?({_LETTER_RUN})(?![A-Za-z])")
# Further options listed after a marked one, as the exam samples write several answers:
# "正确答案是A. 估算肾小球滤过率<30；C. 严重感染".
_LISTED = re.compile(r"[；;\n]\s*([A-H])\s*[.．、]")
_OPENING = re.compile(
    rf"^\s*[（(【\[]?({_LETTER_RUN})[)）】\]]?(?=$|[\s.。、,，:：;；)）]|[^\x00-\x7f])"
)


def letters_of(run: str) -> str:
    """The distinct letters of a matched run, in order: ``"A、C和D"`` → ``"ACD"``."""
    return "".join(sorted(set(re.findall(r"[A-H]", run.upper()))))


def parse_choice(text: str, options: dict[str, str]) -> str | None:
    """The letters ``text`` chose among ``options`` (``"B"``, ``"ACD"``), or None."""
    folded = unicodedata.normalize("NFKC", text).strip()
    for pattern in (_MARKED, _CHOOSE):
        marks = list(pattern.finditer(folded))
        if marks:
            last = marks[-1]
            listed = _LISTED.findall(folded, last.end())
            return _valid(letters_of(last.group(1) + "".join(listed)), options)
    opening = _OPENING.match(folded)
    if opening:
        return _valid(letters_of(opening.group(1)), options)
    return _by_text(folded, options)


def _valid(letters: str, options: dict[str, str]) -> str | None:
    return letters if letters and set(letters) <= set(options) else None


def _by_text(text: str, options: dict[str, str]) -> str | None:
    plain = _fold(text)
    found = {
        letter: _fold(option)
        for letter, option in options.items()
        if _fold(option) and _fold(option) in plain
    }
    found = {
        letter: option
        for letter, option in found.items()
        if not any(option != other and option in other for other in found.values())
    }
    return "".join(sorted(found)) or None


def _fold(text: str) -> str:
    """NFKC, no spaces or trailing full stop: how an option's text is looked for."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).rstrip("。.；;")
