"""Bytes to text, per file: UTF-8 (with or without BOM) or GB18030, declared or detected.

Detection ("auto") follows what the Chinese medical corpora we read are written in: UTF-8,
or GB18030/GBK (Toyhom's Chinese-medical-dialogue-data). A line of GB18030 Chinese is
almost never valid UTF-8: a common character is a lead byte 0xB0-0xF7 and a trail byte
0xA1-0xFE, and UTF-8 accepts few such pairs (none of Toyhom's 7,664 non-ASCII lines
decodes). So the lines of the first MiB holding non-ASCII bytes vote: UTF-8 unless most
of them fail to decode as UTF-8. A vote rather than "first failure switches" keeps one
corrupt line from turning a UTF-8 file into GB18030 mojibake.

Nothing is decoded with replacement characters: a line (or a whole-file document) that
does not decode is reported as undecodable with its line number.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import BinaryIO

SAMPLE_BYTES = 1 << 20
READ_BYTES = 1 << 20
UTF8_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


class Undecodable(Exception):
    """Text that is not valid in its encoding: where, never what."""

    def __init__(self, line: int, detail: str, replaced: str = "") -> None:
        super().__init__(detail)
        self.line = line
        self.detail = detail
        # The line decoded with U+FFFD, only so a CSV parser keeps its quoting in step.
        self.replaced = replaced


def choose_encoding(head: bytes, declared: str) -> str:
    """The codec for a file that starts with ``head``: ``declared`` unless it is "auto"."""
    if declared != "auto":
        return codecs.lookup(declared).name
    if head.startswith(UTF8_BOM):
        return "utf-8"
    if head.startswith(_UTF16_BOMS):
        return "utf-16"
    sample = head[:SAMPLE_BYTES]
    lines = sample.split(b"\n")
    valid = invalid = 0
    for index, line in enumerate(lines):
        if line.isascii():
            continue
        # The sample may end inside a character: its last line is checked as a prefix.
        final = index < len(lines) - 1 or len(head) < SAMPLE_BYTES
        try:
            codecs.getincrementaldecoder("utf-8")().decode(line, final=final)
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
    return "utf-8" if valid >= invalid else "gb18030"


def line_based(encoding: str) -> bool:
    """Whether the codec can be decoded line by line (splitting bytes at b"\\n")."""
    return "\n".encode(encoding) == b"\n"


def decode_document(data: bytes, encoding: str) -> str:
    """The whole file as text, without BOM; raises Undecodable at the first bad byte."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].decode(encoding, "replace").count("\n") + 1
        raise Undecodable(line, _describe(exc, encoding)) from None
    return text.removeprefix("\ufeff")


def text_lines(stream: BinaryIO, declared: str) -> Iterator[tuple[int, str | Undecodable]]:
    """(line number, text without its line end) for each line, or Undecodable for a bad line.

    UTF-16 cannot be split into lines before decoding: such a file is decoded whole and
    an error there ends it with one Undecodable.
    """
    head = stream.read(SAMPLE_BYTES)
    encoding = choose_encoding(head, declared)
    if not line_based(encoding):
        try:
            text = decode_document(head + read_all(stream), encoding)
        except Undecodable as exc:
            yield exc.line, exc
            return
        yield from enumerate(text.removesuffix("\n").split("\n"), 1)
        return
    for number, raw in enumerate(raw_lines(stream, head), 1):
        try:
            line = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            replaced = raw.decode(encoding, "replace")
            yield number, Undecodable(number, _describe(exc, encoding), replaced)
            continue
        yield number, line.removeprefix("\ufeff") if number == 1 else line


def read_all(stream: BinaryIO) -> bytes:
    """Everything left in ``stream``, read in blocks (compressed streams need a size)."""
    blocks = []
    while block := stream.read(READ_BYTES):
        blocks.append(block)
    return b"".join(blocks)


def raw_lines(stream: BinaryIO, head: bytes = b"") -> Iterator[bytes]:
    """The lines of ``head`` followed by the rest of ``stream``, without their b"\\n".

    Reads fixed-size blocks, so a 20 MB line costs one join, not a copy per block.
    """
    pending: list[bytes] = []
    block = head or stream.read(READ_BYTES)
    while block:
        lines = block.split(b"\n")
        if len(lines) > 1:
            if pending:
                pending.append(lines[0])
                lines[0] = b"".join(pending)
                pending = []
            yield from lines[:-1]
        if lines[-1]:
            pending.append(lines[-1])
        block = stream.read(READ_BYTES)
    if pending:
        yield b"".join(pending)


def _describe(exc: UnicodeDecodeError, encoding: str) -> str:
    return f"not valid {encoding} at byte {exc.start} ({exc.reason})"
