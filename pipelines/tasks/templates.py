"""Task templates: prompts and answers with {slots}, checked on load, chosen by a hash.

The defaults live beside this module (``templates.yaml``); a source's ``templates`` (a
YAML file or an inline mapping) replaces the record tasks, the exam set and the relations
it names and keeps the defaults for the rest. A template that names a slot its task does
not have is a one-line ConfigError naming the template, so a typo never reaches a sample.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.config import from_dict, load_yaml_mapping
from pipelines.errors import ConfigError
from pipelines.hashing import stable_hash

DEFAULTS = Path(__file__).with_name("templates.yaml")


@dataclass
class TemplateSet:
    """Interchangeable prompts and answers of one task; each sample gets one of each."""

    prompts: list[str]
    answers: list[str]


@dataclass
class ExamTemplates:
    prompts: list[str]
    answers: list[str]
    # Used when the item has an explanation (the only ones that may name {explanation}).
    answers_with_explanation: list[str]


@dataclass
class TemplateFile:
    record_tasks: dict[str, TemplateSet] = field(default_factory=dict)
    exam: ExamTemplates | None = None
    kg_relations: dict[str, TemplateSet] = field(default_factory=dict)


def slots_of(template: str, where: str) -> set[str]:
    """The slot names of ``template``; positional, formatted or converted slots are errors."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    names = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if not name or spec or conversion or not name.isidentifier():
            raise ConfigError(f"{where}: write slots as plain names such as {{head}}")
        names.add(name)
    return names


def check_slots(templates: list[str], allowed: tuple[str, ...], where: str) -> None:
    """Every template uses only ``allowed`` slots; at least one template is given."""
    if not templates:
        raise ConfigError(f"{where}: needs at least one template")
    for index, template in enumerate(templates):
        unknown = sorted(slots_of(template, f"{where}[{index}]") - set(allowed))
        if unknown:
            raise ConfigError(
                f"{where}[{index}]: unknown slot {{{unknown[0]}}}; "
                f"allowed slots: {', '.join('{' + s + '}' for s in allowed)}"
            )


def load_templates(option: Any, base: str | None, where: str) -> TemplateFile:
    """The defaults, with the entries of ``option`` (a YAML path, a mapping or None) on top.

    A relative path is read relative to ``base`` (the folder of the source's files).
    """
    defaults = from_dict(TemplateFile, load_yaml_mapping(DEFAULTS), where=str(DEFAULTS))
    if option is None:
        return defaults
    if isinstance(option, str):
        path = Path(option)
        if not path.is_absolute() and base is not None:
            path = Path(base) / path
        override = from_dict(TemplateFile, load_yaml_mapping(path), where=str(path))
    elif isinstance(option, dict):
        override = from_dict(TemplateFile, option, where=f"{where}.templates")
    else:
        raise ConfigError(
            f"{where}.templates: expected a file path or a mapping, got {type(option).__name__}"
        )
    return TemplateFile(
        record_tasks={**defaults.record_tasks, **override.record_tasks},
        exam=override.exam or defaults.exam,
        kg_relations={**defaults.kg_relations, **override.kg_relations},
    )


def pick(templates: list[str], record_id: str, salt: str) -> str:
    """One of ``templates``, the same for the same record every run (no random state)."""
    return templates[stable_hash(f"{record_id}\x1f{salt}") % len(templates)]


def render(template: str, slots: dict[str, str]) -> str:
    return template.format_map(slots).strip()
