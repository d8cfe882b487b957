"""Validation of a dialogue run's SFT dataset with great-expectations.

Each Parquet shard of ``sft/`` is read and checked on its own: its footer names
``sft_conversation``, its columns are the schema's, ``id`` is unique and nothing is null;
every sample opens with an optional system message and then alternates user and
assistant, starting with the user and ending with the assistant; no message is empty;
``num_turns`` counts the non-system messages; ``num_tokens`` lies within the run's token
budget; ``split`` is train, validation or test; and the leak gate finds no direct
identifier in any message. Two checks span the dataset: it holds at least one row, and no
near-duplicate cluster straddles two splits.

The identifier check needs the run's secret to tell the engine's signed surrogates from
real numbers, so it runs when the secret is given (the pipeline always gives it) or when
the run did not de-identify. Failures report counts and row positions, never a value.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.config import from_dict
from pipelines.deid.leak_gate import LeakGate
from pipelines.dialogues.config import ContextConfig
from pipelines.dialogues.records import ASSISTANT, SYSTEM, USER
from pipelines.errors import MedloomError
from pipelines.validate import (
    ExpectationResult,
    ValidationResult,
    dataframe_batches,
    footer_result,
    not_empty_result,
    read_shard,
    run_checks,
    unreadable_result,
)
from schemas import SFT_CONVERSATION

DATASET_DIR = "sft"
SPLITS = ("train", "validation", "test")
NOT_NULL = ("id", "messages", "source", "department", "num_turns", "num_tokens", "split")


def role_order_ok(roles: list[str]) -> bool:
    """An optional system message, then user/assistant alternating from user to assistant."""
    if roles and roles[0] == SYSTEM:
        roles = roles[1:]
    if not roles or len(roles) % 2:
        return False
    return all(role == (USER if i % 2 == 0 else ASSISTANT) for i, role in enumerate(roles))


def validate_sft(
    output_dir: str | Path, config: dict[str, Any], secret: bytes | None = None
) -> ValidationResult:
    """Check ``output_dir/sft/*.parquet`` against its schema and the run's promises.

    ``config`` is the run's config as a dict (``manifest["config"]``); ``secret`` is the
    run's de-identification secret. A missing output folder raises MedloomError; everything
    wrong inside it is a failed expectation.
    """
    output_dir = Path(output_dir)
    if not output_dir.is_dir():
        raise MedloomError(f"output folder not found: {output_dir}")
    context = from_dict(ContextConfig, config.get("context") or {}, "config.context")
    deid_enabled = bool((config.get("deid") or {}).get("enabled", True))
    gate = LeakGate(secret) if secret is not None or not deid_enabled else None
    shards = sorted((output_dir / DATASET_DIR).glob("*.parquet"))

    results: list[ExpectationResult] = []
    rows = 0
    clusters: dict[str, set[str]] = defaultdict(set)
    if shards:
        batches = dataframe_batches()
        for path in shards:
            name = path.relative_to(output_dir).as_posix()
            results.append(footer_result(path, name, SFT_CONVERSATION))
            table = read_shard(path)
            if table is None:
                results.append(unreadable_result(name))
                continue
            rows += table.num_rows
            results.extend(_validate_shard(batches, table, name, context.max_tokens, gate))
            if {"cluster", "split"} <= set(table.column_names):
                for cluster, split in zip(
                    table.column("cluster").to_pylist(),
                    table.column("split").to_pylist(),
                    strict=True,
                ):
                    clusters[cluster].add(split)
    results.insert(0, not_empty_result(len(shards), rows, DATASET_DIR))
    results.insert(1, _clusters_result(clusters))
    return ValidationResult(success=all(r.success for r in results), results=results)


def _clusters_result(clusters: dict[str, set[str]]) -> ExpectationResult:
    straddling = sum(1 for splits in clusters.values() if len(splits) > 1)
    observed = (
        f"{len(clusters)} clusters, each in one split"
        if not straddling
        else f"{straddling} of {len(clusters)} clusters straddle two or more splits"
    )
    return ExpectationResult(
        "expect_cluster_in_one_split", "cluster", not straddling, observed, DATASET_DIR
    )


def _derived(table: pa.Table, gate: LeakGate | None) -> dict[str, list[Any]]:
    """Per-row facts about ``messages`` that great-expectations checks as plain columns."""
    order, empty, counted, identifiers = [], [], [], []
    for messages in table.column("messages").to_pylist():
        messages = messages or []
        roles = [m.get("role") for m in messages]
        order.append(role_order_ok(roles))
        empty.append(sum(1 for m in messages if not (m.get("content") or "").strip()))
        counted.append(sum(1 for role in roles if role != SYSTEM))
        if gate is not None:
            identifiers.append(
                sum(sum(gate.scan(m.get("content") or "").values()) for m in messages)
            )
    derived: dict[str, list[Any]] = {
        "roles_alternate": order,
        "empty_messages": empty,
        "turns_counted": counted,
    }
    if gate is not None:
        derived["identifiers_found"] = identifiers
    return derived


def _validate_shard(
    batches: Any, table: pa.Table, name: str, max_tokens: int, gate: LeakGate | None
) -> list[ExpectationResult]:
    import great_expectations.expectations as gxe

    names = table.column_names
    columns_check = gxe.ExpectTableColumnsToMatchOrderedList(
        column_list=SFT_CONVERSATION.column_names
    )
    empty = table.schema.empty_table().to_pandas()
    results = run_checks(batches, empty, [columns_check], name, names, SFT_CONVERSATION)

    checked = [c for c in NOT_NULL if c in names and c != "messages"]
    frame = table.select(checked).to_pandas()
    checks: list[Any] = [gxe.ExpectColumnValuesToNotBeNull(column=c) for c in checked]
    if "id" in names:
        checks.append(gxe.ExpectColumnValuesToBeUnique(column="id"))
    if "split" in names:
        checks.append(gxe.ExpectColumnValuesToBeInSet(column="split", value_set=list(SPLITS)))
    if "num_tokens" in names:
        checks.append(
            gxe.ExpectColumnValuesToBeBetween(
                column="num_tokens", min_value=1, max_value=max_tokens
            )
        )
    if "messages" in names:
        for column, values in _derived(table, gate).items():
            frame[column] = values
        checks.append(gxe.ExpectColumnValuesToBeInSet(column="roles_alternate", value_set=[True]))
        checks.append(
            gxe.ExpectColumnValuesToBeBetween(column="empty_messages", min_value=0, max_value=0)
        )
        if "identifiers_found" in frame:
            checks.append(
                gxe.ExpectColumnValuesToBeBetween(
                    column="identifiers_found", min_value=0, max_value=0
                )
            )
        if "num_turns" in names:
            checks.append(
                gxe.ExpectColumnPairValuesToBeEqual(
                    column_A="num_turns",
                    column_B="turns_counted",
                    ignore_row_if="either_value_is_missing",
                )
            )
    return results + run_checks(batches, frame, checks, name, names, SFT_CONVERSATION)
