"""Knowledge-graph triples → QA: one question per entity and relation, all its tails in the answer.

CMeKG-style triples (糖尿病 / 症状 / 多饮, 二甲双胍 / 禁忌 / 严重肾功能不全) are grouped by
their head entity: a text file (one ``head<TAB>relation<TAB>tail`` a line, read whole) is
grouped per file, and a structured record already holds one entity with its relations.
Each (entity, relation) becomes one sample through that relation's templates, so
"糖尿病有哪些常见症状？" is answered with every symptom the graph lists, not one of them.

A line with an empty head, relation or tail, or not three fields, is Unreadable with its
line number; a relation without templates is a TaskSkip (``no_template``): both counted.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pipelines.dialogues.config import DialogueSourceConfig
from pipelines.dialogues.records import ASSISTANT, USER, DialogueRecord, TaskSkip
from pipelines.records import SourceRecord, Unreadable
from pipelines.tasks.config import KgOptions, source_folder, task_options
from pipelines.tasks.templates import TemplateSet, check_slots, load_templates, pick, render

TASK = "kg_qa"
SLOTS = ("head", "relation", "tails")
FIELDS = ("head", "relation", "tail")

Relations = dict[str, list[str]]


class KgBuilder:
    """Makes one sample or TaskSkip per (entity, relation) of a ``kg_triples`` source."""

    def __init__(self, source: DialogueSourceConfig) -> None:
        self._source = source
        self._options: KgOptions = task_options(KgOptions, source)
        where = f"source {source.name!r}: tasks"
        templates = load_templates(self._options.templates, source_folder(source), where)
        for relation, chosen in templates.kg_relations.items():
            check_slots(chosen.prompts, SLOTS, f"templates.kg_relations.{relation}.prompts")
            check_slots(chosen.answers, SLOTS, f"templates.kg_relations.{relation}.answers")
        self._templates: dict[str, TemplateSet] = templates.kg_relations

    def to_record(
        self, record: Mapping[str, Any], position_id: str, path: str, line: int | None
    ) -> tuple[DialogueRecord | TaskSkip, ...] | Unreadable:
        """The samples of one entity record ``{entity, relations: {relation: [tails]}}``."""
        options = self._options
        if all(name in record for name in FIELDS):
            return Unreadable(
                path,
                line,
                "ungrouped_triple",
                "one triple per record: read triple files with format: text to group them",
            )
        entity = record.get(options.entity_field)
        if not isinstance(entity, str) or not entity.strip():
            reason = "empty_head" if entity in (None, "") else "not_text"
            return Unreadable(path, line, reason, f"field '{options.entity_field}'")
        relations = record.get(options.relations_field)
        if not isinstance(relations, Mapping) or not relations:
            return Unreadable(
                path, line, "missing_field", f"field '{options.relations_field}' holds no mapping"
            )
        grouped: Relations = {}
        for relation, tails in relations.items():
            values = [tails] if isinstance(tails, str) else tails
            if not isinstance(values, list):
                return Unreadable(path, line, "not_text", f"relation {relation!r} holds no list")
            grouped[str(relation).strip()] = [str(t).strip() for t in values if str(t).strip()]
        record_id = record.get("id")
        if not (isinstance(record_id, str | int) and str(record_id).strip()):
            record_id = position_id
        return self.samples(str(record_id), entity.strip(), grouped)

    def from_text(self, record: SourceRecord, path: str) -> Iterator[Any]:
        """Every entity of a file of triples, in the order of its first triple."""
        entities: dict[str, Relations] = {}
        for number, line in enumerate(record.text.split("\n"), start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            parts = [p.strip() for p in line.split(self._options.delimiter)]
            if len(parts) != 3:
                yield Unreadable(
                    path, number, "malformed_triple", f"expected 3 fields, found {len(parts)}"
                )
                continue
            empty = next((name for name, part in zip(FIELDS, parts, strict=True) if not part), None)
            if empty is not None:
                yield Unreadable(path, number, f"empty_{empty}", f"the {empty} is empty")
                continue
            head, relation, tail = parts
            tails = entities.setdefault(head, {}).setdefault(relation, [])
            if tail not in tails:
                tails.append(tail)
        for head, relations in entities.items():
            yield self.samples(f"{record.source_record_id}#{head}", head, relations)

    def samples(
        self, record_id: str, head: str, relations: Relations
    ) -> tuple[DialogueRecord | TaskSkip, ...]:
        """One sample (or TaskSkip) per relation of one entity."""
        made: list[DialogueRecord | TaskSkip] = []
        for relation, tails in relations.items():
            sample_id = f"{record_id}#{relation}"
            templates = self._templates.get(relation)
            if templates is None:
                made.append(
                    TaskSkip(sample_id, TASK, "no_template", f"relation {relation!r} has none")
                )
                continue
            if not tails:
                made.append(
                    TaskSkip(sample_id, TASK, "empty_tail", f"relation {relation!r} has no tail")
                )
                continue
            unique = list(dict.fromkeys(tails))[: self._options.max_tails]
            slots = {"head": head, "relation": relation, "tails": "、".join(unique)}
            prompt = render(pick(templates.prompts, sample_id, "prompt"), slots)
            answer = render(pick(templates.answers, sample_id, "answer"), slots)
            made.append(
                DialogueRecord(
                    sample_id,
                    ((USER, prompt), (ASSISTANT, answer)),
                    self._source.department,
                    (("relation", relation),),
                    task=TASK,
                )
            )
        return tuple(made)
