"""Turn-level cleaning: what is left is a conversation worth training on, or a reason why not.

In order: URLs go from every turn, from the doctor's with the clause that holds them
(``更多知识请访问 URL。`` is an advertisement, not advice); sign-offs and platform
boilerplate (``祝您健康``, ``以上是对…的建议``, ``仅供参考``) and, optionally, Huatuo's
answer-template labels (``问题分析：… 意见建议：…``) go from the assistant's turns; empty
turns go; consecutive turns of one speaker merge; leading assistant turns (a greeting
before the patient speaks) and a trailing unanswered user turn go. Then the conversation is
judged: one speaker only, a turn too long to be a conversation, a system turn in the
middle, or no substantive assistant reply (a bare greeting is not one) each reject it with
that reason. Every edit is counted by name, so the run report says what cleaning did.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from pipelines.dialogues.config import CleaningConfig
from pipelines.dialogues.records import ASSISTANT, SYSTEM, USER, Turn

_CLAUSE_END = "，,。！？!?；;\n"
# Clauses are cut after a clause end; URLs are masked first, so the commas and question
# marks inside one do not cut it. Working clause by clause keeps every rule linear in the
# length of a turn (a pattern with a leading [^，。]* is quadratic on a long unpunctuated one).
_CLAUSES = re.compile(f"[^{_CLAUSE_END}]*[{_CLAUSE_END}]?")
_URL = re.compile(r"(?:https?://|www\.)[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_URL_MASK = "\x00"
# A clause this long holding a sign-off is unpunctuated text, not a sign-off clause.
BOILERPLATE_CLAUSE_CHARS = 60
# Greetings and thanks that make no reply substantive on their own.
_GREETINGS = re.compile(
    r"(您好|你好|在的|谢谢|感谢|不客气|不用谢|请问|有什么(可以)?(帮|帮助)(您|你)的?(吗|么)?|"
    r"很高兴(为您|为你)?(服务|解答)|医生|患者|朋友)"
)
_NOT_TEXT = re.compile(r"[\s\W_]+")


@dataclass
class Cleaned:
    """The turns after cleaning, or the reason the conversation is rejected."""

    turns: list[Turn]
    reason: str | None = None
    detail: str | None = None
    edits: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.edits = +self.edits  # only the edits that happened


class TurnCleaner:
    """The cleaning rules of one config, compiled once."""

    def __init__(self, config: CleaningConfig) -> None:
        self._config = config
        self._boilerplate = (
            re.compile("|".join(f"(?:{p})" for p in config.boilerplate))
            if config.boilerplate
            else None
        )
        labels = "|".join(re.escape(label) for label in config.template_labels)
        self._template = re.compile(f"(?:{labels})\\s*[:：]") if labels else None

    def clean(self, turns: list[Turn] | tuple[Turn, ...]) -> Cleaned:
        edits: Counter[str] = Counter()
        longest = max((len(text) for _, text in turns), default=0)
        if longest > self._config.max_turn_chars:
            return Cleaned(list(turns), "turn_too_long", self._too_long(longest), edits)
        edited = [(role, self._clean_text(role, text, edits)) for role, text in turns]
        kept = [(role, text) for role, text in edited if text]
        edits["empty_turn_dropped"] += len(edited) - len(kept)
        merged: list[Turn] = []
        for role, text in kept:
            if merged and merged[-1][0] == role:
                merged[-1] = (role, f"{merged[-1][1]}\n{text}")
                edits["turns_merged"] += 1
            else:
                merged.append((role, text))
        speakers = {role for role, _ in merged if role != SYSTEM}
        if len(speakers) < 2:
            return Cleaned(
                merged, "one_speaker", f"only {', '.join(sorted(speakers)) or 'system'}", edits
            )
        system = [t for t in merged[: next(i for i, t in enumerate(merged) if t[0] != SYSTEM)]]
        body = merged[len(system) :]
        if any(role == SYSTEM for role, _ in body):
            return Cleaned(
                merged, "misplaced_system_turn", "a system turn after the first user turn", edits
            )
        while body and body[0][0] == ASSISTANT:
            body.pop(0)
            edits["leading_assistant_dropped"] += 1
        if body and body[-1][0] == USER:
            body.pop()
            edits["trailing_user_dropped"] += 1
        result = system + body
        longest = max((len(text) for _, text in result), default=0)
        if longest > self._config.max_turn_chars:
            return Cleaned(result, "turn_too_long", self._too_long(longest), edits)
        if not any(role == ASSISTANT and self.substantive(text) for role, text in body):
            return Cleaned(result, "no_substantive_reply", None, edits)
        return Cleaned(result, None, None, edits)

    def _too_long(self, longest: int) -> str:
        return f"a turn of {longest} characters (limit {self._config.max_turn_chars})"

    def substantive(self, reply: str) -> bool:
        """Whether a reply says something beyond greetings and thanks."""
        content = _NOT_TEXT.sub("", _GREETINGS.sub("", reply))
        return len(content) >= self._config.min_reply_chars

    @staticmethod
    def _drop_clauses(
        text: str, strip_urls: bool, boilerplate: re.Pattern[str] | None, edits: Counter[str]
    ) -> str:
        """``text`` without the clauses that hold a URL or match a boilerplate pattern."""
        if strip_urls:
            text = _URL.sub(_URL_MASK, text)
        kept = []
        for clause in _CLAUSES.findall(text):
            if _URL_MASK in clause:
                edits["url_removed"] += clause.count(_URL_MASK)
            elif boilerplate is not None and boilerplate.search(clause):
                edits["boilerplate_removed"] += 1
                if len(clause) > BOILERPLATE_CLAUSE_CHARS:
                    # Unpunctuated text: only the sign-off goes, not the advice around it.
                    kept.append(boilerplate.sub("", clause))
                    continue
            else:
                kept.append(clause)
                continue
            # A clause that ends a line keeps the line break when it goes.
            if clause.endswith("\n"):
                kept.append("\n")
        return "".join(kept)

    def _clean_text(self, role: str, text: str, edits: Counter[str]) -> str:
        config = self._config
        strip_urls = config.strip_urls and _URL.search(text) is not None
        if strip_urls and role != ASSISTANT:
            # A patient quoting a link asks a question around it: only the link goes.
            text, n = _URL.subn("", text)
            edits["url_removed"] += n
            strip_urls = False
        boilerplate = (
            self._boilerplate
            if role == ASSISTANT
            and config.strip_boilerplate
            and self._boilerplate is not None
            and self._boilerplate.search(text)
            else None
        )
        if strip_urls or boilerplate is not None:
            text = self._drop_clauses(text, strip_urls, boilerplate, edits)
        if role == ASSISTANT and config.strip_answer_templates and self._template is not None:
            text, n = self._template.subn("\n", text)
            edits["template_label_removed"] += n
        # A clause removed at the end of a line leaves its comma behind: end the sentence.
        lines = (line.strip() for line in text.strip().split("\n"))
        return "\n".join(
            line[:-1] + "。" if line.endswith(("，", ",")) else line for line in lines if line
        )
