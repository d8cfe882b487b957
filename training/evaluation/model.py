"""A causal LM as the evaluation uses it: greedy answers, the log-likelihood of given
continuations, and perplexity on plain text. On the GPU when there is one."""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F

from pipelines.errors import MedloomError
from training.config import SamplingOptions
from training.data import Messages
from training.generate import load_policy, sample_answers


class EvalModel:
    """A local model folder loaded for evaluation (a missing folder is a one-line error)."""

    def __init__(self, path: str | Path, batch_size: int = 8) -> None:
        self.path = Path(path)
        self.model, self.tokenizer = load_policy(path)
        self.model.eval()
        if not self.tokenizer.chat_template:
            raise MedloomError(f"model {path}: its tokenizer has no chat template")
        self.device = next(self.model.parameters()).device
        self.batch_size = batch_size

    def answer(self, prompts: list[Messages], max_new_tokens: int) -> list[str]:
        """The greedy answer to each conversation's next assistant turn."""
        sampling = SamplingOptions(max_new_tokens=max_new_tokens)
        answers = sample_answers(
            self.model, self.tokenizer, prompts, 1, sampling, self.batch_size, greedy=True
        )
        return [texts[0] for texts in answers]

    def prompt_ids(self, prompt: Messages, prefix: str = "") -> list[int]:
        """Token ids of ``prompt`` with the assistant turn opened and ``prefix`` written."""
        ids = self.tokenizer.apply_chat_template(
            prompt, tokenize=True, add_generation_prompt=True, return_dict=False
        )
        return list(ids) + self.tokenizer.encode(prefix, add_special_tokens=False)

    @torch.no_grad()
    def continuation_logprobs(self, context: list[int], continuations: list[str]) -> list[float]:
        """log P(continuation, then end of turn | context) for each continuation."""
        eos = self.tokenizer.eos_token_id
        tails = [[*self.tokenizer.encode(c, add_special_tokens=False), eos] for c in continuations]
        scores: list[float] = []
        for start in range(0, len(tails), self.batch_size):
            batch = tails[start : start + self.batch_size]
            sequences = [context + tail for tail in batch]
            logprobs = self._token_logprobs(sequences)
            for row, tail in zip(logprobs, batch, strict=True):
                # Position i predicts token i + 1: the tail's tokens are predicted from
                # len(context) - 1 on.
                first = len(context) - 1
                scores.append(float(row[first : first + len(tail)].sum()))
        return scores

    @torch.no_grad()
    def perplexity(self, texts: list[str], max_length: int) -> dict[str, float | int | None]:
        """Token-level perplexity of ``texts`` (each ended by the end-of-text token), cut into
        windows of ``max_length`` tokens."""
        eos = self.tokenizer.eos_token_id
        windows: list[list[int]] = []
        for text in texts:
            ids = [*self.tokenizer.encode(text, add_special_tokens=False), eos]
            windows.extend(ids[i : i + max_length] for i in range(0, len(ids), max_length))
        windows = [w for w in windows if len(w) > 1]
        total, tokens = 0.0, 0
        for start in range(0, len(windows), self.batch_size):
            batch = windows[start : start + self.batch_size]
            for row, window in zip(self._token_logprobs(batch), batch, strict=True):
                total -= float(row[: len(window) - 1].sum())
                tokens += len(window) - 1
        if tokens == 0:
            return {"documents": len(texts), "tokens": 0, "perplexity": None}
        value = math.exp(total / tokens)
        return {
            "documents": len(texts),
            "tokens": tokens,
            "perplexity": value if math.isfinite(value) else None,
        }

    def _token_logprobs(self, sequences: list[list[int]]) -> torch.Tensor:
        """For each sequence, log P(token i + 1 | tokens ≤ i) at every position i (right
        padded; positions past the sequence hold zeros)."""
        width = max(len(s) for s in sequences)
        pad = self.tokenizer.pad_token_id
        ids = torch.tensor([s + [pad] * (width - len(s)) for s in sequences], device=self.device)
        mask = torch.tensor(
            [[1] * len(s) + [0] * (width - len(s)) for s in sequences], device=self.device
        )
        logits = self.model(input_ids=ids, attention_mask=mask).logits.float()
        logprobs = F.log_softmax(logits[:, :-1], dim=-1)
        picked = logprobs.gather(-1, ids[:, 1:].unsqueeze(-1)).squeeze(-1)
        return (picked * mask[:, 1:]).cpu()
