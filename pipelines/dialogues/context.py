"""Fitting conversations to a token budget, cutting only between turns.

Tokens are counted with the tokenizer the config names (a local ``tokenizer.json``, read
with the ``tokenizers`` library) or, without one, estimated: one token per CJK character,
one per four other characters, and ``TOKENS_PER_MESSAGE`` for each message's chat-template
markers. The estimate is deliberately high for current Chinese tokenizers (Qwen and
Llama 3 spend about 0.7 tokens per Chinese character), so an estimated fit is a real fit.

A dialogue that does not fit keeps its system turn, its opening user turn and the first
assistant reply, then as many further rounds (user + assistant) as fit, and never ends on a
user turn. With ``split_long`` the rounds that did not fit become further samples, each
carrying the opening round and as many rounds just before it as fit, as history.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from pathlib import Path

from pipelines.dialogues.records import SYSTEM, Turn
from pipelines.errors import ConfigError

TOKENS_PER_MESSAGE = 4
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")

TokenCounter = Callable[[str], int]


def estimate_tokens(text: str) -> int:
    """A high estimate of a text's tokens: CJK characters one each, others four to a token."""
    cjk = len(_CJK.findall(text))
    return cjk + math.ceil((len(text) - cjk) / 4)


def load_counter(tokenizer: str | None) -> TokenCounter:
    """The token counter of a local tokenizer (file or folder), or the estimate."""
    if tokenizer is None:
        return estimate_tokens
    path = Path(tokenizer)
    if path.is_dir():
        path = path / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(f"context.tokenizer: no tokenizer.json at {tokenizer}")
    from tokenizers import Tokenizer

    loaded = Tokenizer.from_file(str(path))

    def count(text: str) -> int:
        return len(loaded.encode(text, add_special_tokens=False).ids)

    return count


def count_tokens(turns: list[Turn], counter: TokenCounter) -> int:
    return sum(counter(text) + TOKENS_PER_MESSAGE for _, text in turns)


def _rounds(turns: list[Turn]) -> tuple[list[Turn], list[list[Turn]]]:
    """System turns, then the conversation as (user, assistant) rounds."""
    start = next((i for i, (role, _) in enumerate(turns) if role != SYSTEM), len(turns))
    body = turns[start:]
    return turns[:start], [body[i : i + 2] for i in range(0, len(body), 2)]


def fit_to_budget(
    turns: list[Turn], budget: int, counter: TokenCounter, split_long: bool
) -> list[list[Turn]]:
    """The samples a cleaned, alternating conversation makes within ``budget`` tokens.

    Empty when even the opening round does not fit.
    """
    return [sample for sample, _ in fit_with_counts(turns, budget, counter, split_long)]


def fit_with_counts(
    turns: list[Turn], budget: int, counter: TokenCounter, split_long: bool
) -> list[tuple[list[Turn], int]]:
    """``fit_to_budget``'s samples, each with its token count (counted once, here)."""
    system, rounds = _rounds(turns)
    costs = [count_tokens(r, counter) for r in rounds]
    fixed = count_tokens(system, counter)
    if not rounds or fixed + costs[0] > budget:
        return []
    samples: list[tuple[list[Turn], int]] = []
    first_uncovered = 0
    while first_uncovered < len(rounds):
        if first_uncovered == 0:
            chosen, used = [0], fixed + costs[0]
        else:
            if fixed + costs[0] + costs[first_uncovered] > budget:
                break
            chosen, used = [0, first_uncovered], fixed + costs[0] + costs[first_uncovered]
            # History: the rounds just before this one, nearest first, while they fit.
            for back in range(first_uncovered - 1, 0, -1):
                if used + costs[back] > budget:
                    break
                chosen.insert(1, back)
                used += costs[back]
        nxt = chosen[-1] + 1
        while nxt < len(rounds) and used + costs[nxt] <= budget:
            chosen.append(nxt)
            used += costs[nxt]
            nxt += 1
        samples.append((system + [t for i in chosen for t in rounds[i]], used))
        first_uncovered = nxt
        if not split_long:
            break
    return samples
