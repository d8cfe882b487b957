"""Sampling answers from a policy, and `medloom train generate`: candidates for annotators.

`write_candidates` writes one JSONL line per prompt,
``{"id", "prompt": [{role, content}], "responses": [{"id", "content", "model"}]}``, the
"jsonl" format that `medloom annotate import` reads: the loop from the SFT model to the
annotators to the reward model is closed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, PreTrainedModel, PreTrainedTokenizerBase

from training.config import SamplingOptions
from training.data import Messages, read_prompts
from training.runtime import load_tokenizer, require_model_dir

BLANK_RETRIES = 4


def encode_prompts(
    tokenizer: PreTrainedTokenizerBase, prompts: list[Messages], device: torch.device | str
) -> dict[str, torch.Tensor]:
    """Left-padded ids of ``prompts`` with the assistant turn opened, ready to generate."""
    ids = [
        tokenizer.apply_chat_template(
            prompt, tokenize=True, add_generation_prompt=True, return_dict=False
        )
        for prompt in prompts
    ]
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"
    try:
        batch = tokenizer.pad({"input_ids": ids}, return_tensors="pt")
    finally:
        tokenizer.padding_side = side
    return {key: value.to(device) for key, value in batch.items()}


def generation_options(
    tokenizer: PreTrainedTokenizerBase, sampling: SamplingOptions, greedy: bool = False
) -> dict[str, object]:
    """`generate` keyword arguments; greedy decoding ignores the sampling settings."""
    options: dict[str, object] = {
        "max_new_tokens": sampling.max_new_tokens,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
    }
    if greedy:
        return {**options, "do_sample": False}
    return {
        **options,
        "do_sample": True,
        "temperature": sampling.temperature,
        "top_k": sampling.top_k,
        "top_p": sampling.top_p,
    }


@torch.no_grad()
def sample_answers(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    prompts: list[Messages],
    n: int,
    sampling: SamplingOptions,
    batch_size: int = 8,
    greedy: bool = False,
    progress: str | None = None,
) -> list[list[str]]:
    """``n`` answers to each prompt (the text without the end-of-turn token)."""
    answers: list[list[str]] = []
    device = next(model.parameters()).device
    options = generation_options(tokenizer, sampling, greedy)
    was_training = model.training
    model.eval()
    starts = range(0, len(prompts), batch_size)
    for start in tqdm(starts, desc=progress, disable=progress is None):
        batch = encode_prompts(tokenizer, prompts[start : start + batch_size], device)
        output = model.generate(**batch, **options, num_return_sequences=n)
        texts = tokenizer.batch_decode(
            output[:, batch["input_ids"].shape[1] :], skip_special_tokens=True
        )
        answers.extend(texts[i : i + n] for i in range(0, len(texts), n))
    model.train(was_training)
    return answers


def load_policy(path: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """A causal LM and its tokenizer from a local folder, on the GPU when there is one."""
    model = AutoModelForCausalLM.from_pretrained(require_model_dir(path))
    model.to("cuda" if torch.cuda.is_available() else "cpu")
    return model, load_tokenizer(path)


def write_candidates(
    model_path: str | Path,
    prompts_path: str | Path,
    n: int,
    output: str | Path,
    sampling: SamplingOptions,
    model_name: str | None = None,
    seed: int = 0,
) -> int:
    """Sample ``n`` answers to every prompt of ``prompts_path``; write the JSONL to ``output``
    ("-" for stdout). Returns the number of prompts."""
    prompts = read_prompts(prompts_path)
    model, tokenizer = load_policy(model_path)
    name = model_name or Path(model_path).resolve().name
    torch.manual_seed(seed)
    answers = sample_answers(
        model, tokenizer, [p for _, p in prompts], n, sampling, progress="generate"
    )
    # A blank answer is no candidate (the importer refuses its item): sample it again.
    for _ in range(BLANK_RETRIES):
        blanks = [
            (i, k) for i, texts in enumerate(answers) for k, t in enumerate(texts) if not t.strip()
        ]
        if not blanks:
            break
        again = sample_answers(model, tokenizer, [prompts[i][1] for i, _ in blanks], 1, sampling)
        for (i, k), (text,) in zip(blanks, again, strict=True):
            answers[i][k] = text
    lines = [
        json.dumps(
            {
                "id": prompt_id,
                "prompt": prompt,
                "responses": [
                    {"id": f"{prompt_id}-{k}", "content": text, "model": name}
                    for k, text in enumerate(texts, start=1)
                ],
            },
            ensure_ascii=False,
        )
        for (prompt_id, prompt), texts in zip(prompts, answers, strict=True)
    ]
    text = "".join(line + "\n" for line in lines)
    if str(output) == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
    return len(prompts)
