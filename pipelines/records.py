"""What readers yield, before a record becomes a pipeline document."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class SourceRecord:
    """One readable record of a source file: a textbook file, a JSON entry, a CSV row.

    ``text`` is decoded but not yet normalised. Structured text (Markdown, LaTeX) is
    handed on with its section titles as Markdown heading lines (``# 第一章 绪论``), so
    the chunker can split at sections and record each piece's heading path.
    """

    source_record_id: str
    text: str
    title: str | None = None
    heading_path: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Unreadable:
    """A record that could not be read: where it is and why, never its content.

    ``line`` counts from 1: the line a record starts on (JSON Lines, CSV, text, the first
    line of a JSON array element), the row number for Parquet, None for a whole file.
    ``reason`` is a short code (``malformed_json``, ``undecodable``, ``empty_file``, ...);
    ``detail`` says where and what went wrong in a parser's words, never the content.
    """

    path: str
    line: int | None
    reason: str
    detail: str = ""
