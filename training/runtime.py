"""What every phase shares: loading a local model, the Trainer arguments a phase config maps
to, LoRA, resuming, and the result a phase leaves behind (metrics.json and loss.png)."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from transformers import AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase, Trainer
from transformers.trainer_utils import get_last_checkpoint

from pipelines.errors import MedloomError
from training.config import LoraOptions, PhaseConfig

CHECKPOINTS = "checkpoints"
METRICS_FILE = "metrics.json"
LOSS_PLOT = "loss.png"


def require_model_dir(path: str | Path, what: str = "model") -> Path:
    """A local model folder; a hub name or a missing folder is a one-line error."""
    path = Path(path)
    if not (path / "config.json").is_file():
        raise MedloomError(
            f"{what} {path} is not a local model folder (no config.json); "
            "base models are local paths, nothing is downloaded"
        )
    return path


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    """A local model's tokenizer, padding on the right with a padding token (its EOS when it
    has none)."""
    tokenizer = AutoTokenizer.from_pretrained(require_model_dir(path), local_files_only=True)
    tokenizer.padding_side = "right"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def use_cpu() -> bool:
    """Whether training runs on the CPU (no CUDA device here)."""
    return not torch.cuda.is_available()


def precision_flags(config: PhaseConfig) -> dict[str, bool]:
    """Trainer flags for the configured precision; ``auto`` is bf16 where the GPU has it."""
    precision = config.precision
    if precision == "auto":
        precision = (
            "bf16" if torch.cuda.is_available() and torch.cuda.is_bf16_supported() else "fp32"
        )
    if precision != "fp32" and use_cpu():
        raise MedloomError(f"precision {precision} needs a GPU; use precision: fp32 or auto")
    return {"bf16": precision == "bf16", "fp16": precision == "fp16"}


def trainer_arguments(config: PhaseConfig, output: Path) -> dict[str, Any]:
    """The `transformers.TrainingArguments` fields every phase sets from its config.

    TRL's configs default to bf16 and gradient checkpointing; both are set explicitly here so
    a CPU run does not trip on them.
    """
    return {
        "output_dir": str(output / CHECKPOINTS),
        "learning_rate": config.learning_rate,
        "num_train_epochs": config.epochs,
        "max_steps": config.max_steps,
        "per_device_train_batch_size": config.batch_size,
        "per_device_eval_batch_size": config.batch_size,
        "gradient_accumulation_steps": config.gradient_accumulation_steps,
        "warmup_steps": config.warmup_steps,
        "weight_decay": config.weight_decay,
        "logging_steps": config.logging_steps,
        "save_strategy": "steps",
        "save_steps": config.save_steps,
        "save_total_limit": config.save_total_limit,
        "seed": config.seed,
        "data_seed": config.seed,
        "use_cpu": use_cpu(),
        "activation_checkpointing": config.gradient_checkpointing,
        "report_to": "none",
        "dataloader_num_workers": 0,
        **precision_flags(config),
    }


def lora_config(options: LoraOptions | None, task_type: str) -> Any:
    """PEFT's `LoraConfig` for ``options``, or None for full fine-tuning."""
    if options is None:
        return None
    from peft import LoraConfig

    targets: str | list[str] = options.target_modules
    if targets == ["all-linear"]:
        targets = "all-linear"
    return LoraConfig(
        r=options.r,
        lora_alpha=options.alpha,
        lora_dropout=options.dropout,
        target_modules=targets,
        task_type=task_type,
        # A sequence classifier's head is new: train it whole beside the adapters.
        modules_to_save=["score"] if task_type == "SEQ_CLS" else None,
    )


def refuse_earlier_run(output: Path, folders: list[Path]) -> None:
    """Refuse to train into ``output`` when one of ``folders`` holds a phase's earlier run."""
    if any((f / CHECKPOINTS).is_dir() or (f / METRICS_FILE).is_file() for f in folders):
        raise MedloomError(
            f"{output} already holds a training run: resume it (--resume) or choose another "
            "output folder"
        )


def prepare_output(output: str | Path, resume: bool) -> Path:
    """Create a phase's folder; refuse to train over an earlier run there unless resuming."""
    output = Path(output)
    if not resume:
        refuse_earlier_run(output, [output])
    output.mkdir(parents=True, exist_ok=True)
    return output


def resume_checkpoint(output: Path, resume: bool) -> str | None:
    """The last checkpoint under ``output`` when resuming, else None."""
    folder = output / CHECKPOINTS
    if not resume or not folder.is_dir():
        return None
    return get_last_checkpoint(str(folder))


def save_trained(
    trainer: Trainer, output: Path, start: str | Path, load: Callable[[Path], PreTrainedModel]
) -> None:
    """Save what ``trainer`` trained to ``output`` as a plain model folder.

    `Trainer.save_model` gathers the weights from every process (ZeRO-3, FSDP). A LoRA
    adapter goes to ``output/adapter``; the main process then merges it into the model the
    phase started from (``load(start)``), so the next phase loads a plain model.
    """
    if not hasattr(trainer.model, "peft_config"):
        trainer.save_model(str(output))
        return
    trainer.save_model(str(output / "adapter"))
    if trainer.is_world_process_zero():
        from peft import PeftModel

        merged = PeftModel.from_pretrained(load(Path(start)), output / "adapter").merge_and_unload()
        merged.save_pretrained(output)
        trainer.processing_class.save_pretrained(output)
    trainer.accelerator.wait_for_everyone()


def is_main_process() -> bool:
    """Whether this is the first (or only) process of a torchrun / accelerate launch."""
    return int(os.environ.get("RANK", "0")) == 0


def save_model(model: Any, tokenizer: PreTrainedTokenizerBase, output: Path) -> None:
    """Save a model held whole by this process to ``output``. A PEFT model keeps its adapter
    in ``output/adapter`` and is saved merged, so the next phase loads a plain model."""
    if hasattr(model, "merge_and_unload"):
        model.save_pretrained(output / "adapter")
        model = model.merge_and_unload()
    model.save_pretrained(output)
    tokenizer.save_pretrained(output)


@dataclass
class PhaseResult:
    """What a phase leaves behind: the model folder, its measures, its loss curve."""

    phase: str
    model: str
    seconds: float
    metrics: dict[str, float | int | None] = field(default_factory=dict)
    # (step, training loss) as logged.
    losses: list[tuple[int, float]] = field(default_factory=list)

    def write(self) -> None:
        if not is_main_process():
            return
        folder = Path(self.model)
        (folder / METRICS_FILE).write_text(
            json.dumps(asdict(self), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        if self.losses:
            plot_losses(self.losses, f"{self.phase} training loss", folder / LOSS_PLOT)

    @classmethod
    def read(cls, folder: Path) -> PhaseResult | None:
        """The result of a phase that finished in ``folder``, or None."""
        path = folder / METRICS_FILE
        if not path.is_file():
            return None
        raw = json.loads(path.read_text(encoding="utf-8"))
        # The folder may have moved since (a copied run): it is where it is now.
        raw["model"] = str(folder)
        raw["losses"] = [tuple(point) for point in raw["losses"]]
        return cls(**raw)


def losses_of(log_history: list[dict[str, Any]], key: str = "loss") -> list[tuple[int, float]]:
    """(step, loss) of every training log entry of a Trainer's ``state.log_history``."""
    return [(entry["step"], float(entry[key])) for entry in log_history if key in entry]


def plot_losses(losses: list[tuple[int, float]], title: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 3.5))
    axes.plot([step for step, _ in losses], [loss for _, loss in losses], marker=".")
    axes.set(title=title, xlabel="step", ylabel="loss")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    pyplot.close(figure)


def finite(value: float) -> float | None:
    """``value`` for JSON, or None when it is not a finite number."""
    return value if math.isfinite(value) else None
