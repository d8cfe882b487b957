"""Training configs: YAML maps one to one onto the phase dataclasses; a bad key or value is
one line naming where it is, from the library and from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

import training
from pipelines.cli import main
from pipelines.errors import ConfigError
from training.config import LoraOptions, load_run_config, run_config_from_dict


def test_yaml_sections_map_onto_the_phase_dataclasses(tmp_path: Path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text(
        "base_model: models/base\n"
        "phases: [sft, reward, ppo]\n"
        "sft: {learning_rate: 2.0e-5, max_length: 4096, lora: {r: 16, alpha: 32}}\n"
        "ppo: {kl_coef: 0.1, mini_batch_size: 2, sampling: {max_new_tokens: 128}}\n",
        encoding="utf-8",
    )
    config = load_run_config(path)
    assert config.base_model == str(tmp_path / "models" / "base")
    assert config.phases == ["sft", "reward", "ppo"]
    assert config.sft.learning_rate == 2e-5
    assert config.sft.max_length == 4096
    assert config.sft.lora == LoraOptions(
        r=16, alpha=32, dropout=0.0, target_modules=["all-linear"]
    )
    assert config.ppo.kl_coef == 0.1
    assert config.ppo.sampling.max_new_tokens == 128
    # Sections not in the file keep their defaults.
    assert config.reward.use_margin is True
    assert config.pretrain.block_size == 256


def test_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    assert load_run_config(path) == load_run_config(None)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"sft": {"lora": {"rank": 8}}},
            "run.yaml.sft.lora: unknown key 'rank'; allowed keys: alpha, dropout, r, "
            "target_modules",
        ),
        ({"sft": {"batch_size": 0}}, "run.yaml.sft.batch_size: expected at least 1, got 0"),
        (
            {"ppo": {"batch_size": 8, "mini_batch_size": 3}},
            "run.yaml.ppo.mini_batch_size: expected a divisor of batch_size (8), got 3",
        ),
        (
            {"dpo": {"loss_type": "kto"}},
            "run.yaml.dpo.loss_type: expected one of ['sigmoid', 'hinge', 'ipo'], got 'kto'",
        ),
        (
            {"phases": ["sft", "ppo2"]},
            "run.yaml.phases[1]: expected one of ['pretrain', 'sft', 'reward', 'ppo', 'dpo', "
            "'rejection_sampling', 'grpo', 'rloo'], got 'ppo2'",
        ),
        (
            {"bootstrap": {"hidden_size": 30}},
            "run.yaml.bootstrap.hidden_size: expected a multiple of num_heads (4), got 30",
        ),
        (
            {"sft": {"max_steps": "ten"}},
            "run.yaml.sft.max_steps: expected int, got str 'ten'",
        ),
    ],
)
def test_bad_key_or_value_names_where_it_is(raw: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        run_config_from_dict(raw, "run.yaml")
    assert str(error.value) == message


def test_command_line_reports_a_bad_config_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text("sft:\n  lora: {rank: 8}\n", encoding="utf-8")
    argv = ["train", "sft", "--data", str(tmp_path), "--output", str(tmp_path / "sft")]
    assert main([*argv, "--config", str(config)]) == 2
    assert capsys.readouterr().err == (
        f"medloom: error: {config}.sft.lora: unknown key 'rank'; allowed keys: alpha, dropout, "
        "r, target_modules\n"
    )


def test_unknown_phase_on_the_command_line_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["train", "all", "--data", str(tmp_path), "--output", str(tmp_path / "run")]
    assert main([*argv, "--phases", "sft,ppo2"]) == 2
    assert capsys.readouterr().err.startswith("medloom: error: --phases.phases[1]: expected one")


@pytest.mark.parametrize("name", ["qwen-7b-lora.yaml"])
def test_shipped_example_configs_load(name: str) -> None:
    config = load_run_config(Path(training.__file__).parent / "configs" / name)
    assert config.pretrain.block_size == 4096
    assert config.sft.lora == LoraOptions(r=64, alpha=128, dropout=0.05)
