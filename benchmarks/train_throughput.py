"""SFT throughput on a GPU: tokens per second and model FLOPs utilisation (MFU).

    .venv/bin/python benchmarks/train_throughput.py [--size 1b|tiny] [--seq-len 4096]
        [--batch-size 4] [--steps 10] [--warmup 3] [--gradient-checkpointing]
        [--precision bf16] [--peak-tflops T] [--out benchmarks/out/train_throughput.json]

What runs is medloom's own SFT phase (`training.sft.build_trainer`: TRL's SFTTrainer on
`messages`, loss on assistant turns only) on a Llama with random weights built from a config
(`training.bootstrap.tiny_llama`):

* ``--size 1b``: hidden 2048, 22 layers, 32 heads (4 key-value heads), MLP 5632, a 32,000-token
  vocabulary (TinyLlama-1.1B's shape, 1.03 B parameters), 4,096-token sequences, bf16 mixed
  precision: ChiMed-GPT's context length on a model one GPU trains whole;
* ``--size tiny``: the bootstrap model of the demo at 128 tokens, fp32, to check the script on
  a CPU in seconds.

The conversations are the sample consultations in ``data/preference/candidates.jsonl``
(each prompt and its answers as alternating turns), repeated until a conversation is longer
than ``--seq-len`` tokens and truncated to it, so every row is exactly ``--seq-len`` tokens
and no token is padding. The tokenizer is the bootstrap BPE trained on the same text.

Timing covers the optimizer steps after ``--warmup`` (CUDA synchronised at each step end).
Tokens per second = steps × batch × seq-len / seconds. Model FLOPs per token are
6 × parameters (the tied embedding counted once, as the output head's matrix product) +
12 × layers × hidden × seq-len (attention scores and values, forward and backward; PaLM's
appendix B), counted once even with gradient checkpointing (MFU, not hardware FLOPs).
MFU = achieved FLOP/s / peak: the dense bf16 peak of the GPU (989 TFLOP/s for H100 and H200
SXM, 312 for A100) unless ``--peak-tflops`` says otherwise; none on a CPU.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import torch  # noqa: E402
from datasets import Dataset  # noqa: E402
from transformers import TrainerCallback  # noqa: E402

from training.bootstrap import tiny_llama, train_tokenizer  # noqa: E402
from training.config import BootstrapConfig, SftConfig  # noqa: E402
from training.sft import build_trainer  # noqa: E402

SAMPLES = REPO / "data" / "preference" / "candidates.jsonl"
# Dense bf16 tensor-core peaks (NVIDIA data sheets), by a name fragment of the device.
PEAK_BF16_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0}


@dataclass(frozen=True)
class ModelSize:
    shape: BootstrapConfig
    vocab_size: int
    seq_len: int
    batch_size: int
    precision: str


SIZES = {
    "1b": ModelSize(
        BootstrapConfig(
            vocab_size=32000,
            hidden_size=2048,
            intermediate_size=5632,
            num_layers=22,
            num_heads=32,
            num_kv_heads=4,
            max_position_embeddings=4096,
        ),
        vocab_size=32000,
        seq_len=4096,
        batch_size=4,
        precision="bf16",
    ),
    "tiny": ModelSize(
        BootstrapConfig(), vocab_size=2000, seq_len=128, batch_size=2, precision="fp32"
    ),
}


class StepTimer(TrainerCallback):
    """Wall time of each optimizer step, the GPU's queue drained at its end."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._started = 0.0

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._started = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.seconds.append(time.perf_counter() - self._started)


def sample_conversations() -> list[list[dict[str, str]]]:
    """Each sample prompt (text, or the turns of a multi-turn one) followed by each of its
    candidate answers in turn."""
    conversations = []
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        prompt = record["prompt"]
        if isinstance(prompt, str):
            prompt = [{"role": "user", "content": prompt}]
        turns = []
        for response in record["responses"]:
            turns += [*prompt, {"role": "assistant", "content": response["content"]}]
        conversations.append(turns)
    return conversations


def long_conversations(
    conversations: list[list[dict[str, str]]], tokenizer: Any, seq_len: int, count: int
) -> list[list[dict[str, str]]]:
    """``count`` conversations of more than ``seq_len`` tokens, each the samples repeated from
    a different starting one."""
    rows = []
    for index in range(count):
        messages = list(conversations[index % len(conversations)])
        turn = index + 1
        while len(tokenizer.apply_chat_template(messages, return_dict=False)) <= seq_len:
            messages += conversations[turn % len(conversations)]
            turn += 1
        rows.append(messages)
    return rows


def flops_per_token(model: torch.nn.Module, shape: BootstrapConfig, seq_len: int) -> float:
    parameters = sum(p.numel() for p in model.parameters())
    return 6.0 * parameters + 12.0 * shape.num_layers * shape.hidden_size * seq_len


def peak_flops(override: float | None) -> float | None:
    if override is not None:
        return override * 1e12
    if not torch.cuda.is_available():
        return None
    name = torch.cuda.get_device_name()
    for fragment, tflops in PEAK_BF16_TFLOPS.items():
        if fragment in name:
            return tflops * 1e12
    return None


def measure(args: argparse.Namespace) -> dict[str, Any]:
    size = SIZES[args.size]
    seq_len = args.seq_len or size.seq_len
    batch_size = args.batch_size or size.batch_size
    shape = dataclasses.replace(size.shape, max_position_embeddings=max(seq_len, 1024))
    conversations = sample_conversations()
    texts = [m["content"] for c in conversations for m in c]
    tokenizer = train_tokenizer(texts, shape.vocab_size)
    model = tiny_llama(shape, tokenizer)
    model.resize_token_embeddings(size.vocab_size)
    steps = args.warmup + args.steps
    rows = long_conversations(conversations, tokenizer, seq_len, steps * batch_size)
    with tempfile.TemporaryDirectory(prefix="medloom-throughput-") as folder:
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
        config = SftConfig(
            max_steps=steps,
            batch_size=batch_size,
            max_length=seq_len,
            learning_rate=1e-4,
            logging_steps=steps,
            save_steps=steps + 1,
            precision=args.precision or size.precision,
            gradient_checkpointing=args.gradient_checkpointing,
        )
        trainer = build_trainer(
            config, Dataset.from_dict({"messages": rows}), None, folder, Path(folder) / "run"
        )
        lengths = [len(ids) for ids in trainer.train_dataset["input_ids"]]
        timer = StepTimer()
        trainer.add_callback(timer)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        trainer.train()
        parameters = sum(p.numel() for p in trainer.model.parameters())
        per_token = flops_per_token(trainer.model, shape, seq_len)
    timed = timer.seconds[args.warmup :]
    tokens = len(timed) * batch_size * seq_len
    seconds = sum(timed)
    tokens_per_second = tokens / seconds
    peak = peak_flops(args.peak_tflops)
    return {
        "size": args.size,
        "parameters": parameters,
        "vocab_size": size.vocab_size,
        "seq_len": seq_len,
        "row_lengths": sorted(set(lengths)),
        "batch_size": batch_size,
        "precision": config.precision,
        "gradient_checkpointing": args.gradient_checkpointing,
        "warmup_steps": args.warmup,
        "timed_steps": len(timed),
        "seconds": seconds,
        "tokens_per_second": tokens_per_second,
        "model_flops_per_token": per_token,
        "achieved_tflops": tokens_per_second * per_token / 1e12,
        "mfu": tokens_per_second * per_token / peak if peak else None,
        "peak_tflops": peak / 1e12 if peak else None,
        "peak_gpu_memory_gb": (
            torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None
        ),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "machine": platform.node(),
        "versions": {name: version(name) for name in ("torch", "transformers", "trl")},
        "date": time.strftime("%Y-%m-%d"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="1b")
    parser.add_argument("--seq-len", type=int, help="tokens per row (1b: 4096, tiny: 128)")
    parser.add_argument("--batch-size", type=int, help="rows per step (1b: 4, tiny: 2)")
    parser.add_argument("--steps", type=int, default=10, help="timed optimizer steps")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--precision", choices=["bf16", "fp16", "fp32"])
    parser.add_argument("--peak-tflops", type=float, help="the device's peak, for MFU")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks/out/train_throughput.json")
    args = parser.parse_args(argv)
    result = measure(args)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    mfu = f"{result['mfu']:.1%}" if result["mfu"] is not None else "n/a"
    print(
        f"{result['size']}: {result['parameters'] / 1e6:.1f} M parameters, "
        f"{result['batch_size']} × {result['seq_len']} tokens per step, {result['precision']} "
        f"on {result['device']}: {result['tokens_per_second']:,.0f} tokens/s, "
        f"{result['achieved_tflops']:.2f} TFLOP/s, MFU {mfu}"
    )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
