"""Markdown → plain text that keeps its section titles as ``#`` heading lines.

Dropped: front matter, HTML comments, images, link targets (the link text stays),
reference definitions, emphasis and code markers, code fence lines (their content stays),
table delimiter rows and thematic breaks. Setext headings become ``#``/``##`` lines;
table rows become lines of cells separated by spaces; blockquote markers go. Syntax
follows CommonMark 0.31 and GitHub Flavored Markdown (tables, strikethrough).

Every pattern is bounded in how far it looks ahead, so a 20 MB line costs linear time.
"""

from __future__ import annotations

import re

_FRONT_MATTER = re.compile(
    r"\A(?:---|\+\+\+)[ \t]*\n.*?\n(?:---|\+\+\+|\.\.\.)[ \t]*(?:\n|\Z)", re.S
)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT_UNDERLINE = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_THEMATIC_BREAK = re.compile(r"^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$")
_TABLE_DELIMITER = re.compile(r"^[ \t]*\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$")
_REFERENCE_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]{1,999}\]:[ \t]*\S")
_FOOTNOTE_DEFINITION = re.compile(r"^ {0,3}\[\^[^\]\n]{1,99}\]:[ \t]*")
_BLOCKQUOTE = re.compile(r"^ {0,3}(?:>[ \t]?)+")
_HEADING_ID = re.compile(r"[ \t]*\{#[^}\n]{1,200}\}$")

# Backslash escapes are parked in the Private Use Area while the inline rules run.
_ESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])")
_PARK = 0xE000
_PARKED = re.compile("[\ue021-\ue07e]")
_IMAGE = re.compile(
    r"!\[[^\]\n]{0,999}\](?:\([^()\n]{0,2000}(?:\([^()\n]{0,500}\)[^()\n]{0,500})*\)"
    r"|\[[^\]\n]{0,999}\])?"
)
_HTML_IMAGE = re.compile(r"<img\b[^>\n]{0,2000}>", re.I)
_LINK = re.compile(
    r"\[([^\]\n]{0,999})\](?:\([^()\n]{0,2000}(?:\([^()\n]{0,500}\)[^()\n]{0,500})*\)"
    r"|\[[^\]\n]{0,999}\])"
)
_FOOTNOTE_REFERENCE = re.compile(r"\[\^[^\]\n]{1,99}\]")
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]{1,2000})>", re.I)
_CODE_SPAN = re.compile(r"(`+)(.{1,2000}?)\1")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.{1,2000}?)(?<=\S)\1")
_STAR_EMPHASIS = re.compile(r"\*(?=[^\s*])(.{1,2000}?)(?<=[^\s*])\*")
# CommonMark: "_" does not open or close emphasis inside a word (CJK counts as a word).
_UNDERSCORE_EMPHASIS = re.compile(r"(?<![^\W_])_(?=[^\s_])(.{1,2000}?)(?<=[^\s_])_(?![^\W_])")
_STRIKETHROUGH = re.compile(r"~~(?=\S)(.{1,2000}?)(?<=\S)~~")
_HARD_BREAK = re.compile(r"(?: {2,}|\\)$")
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")
_CELL_SEPARATOR = re.compile(r"(?<!\\)\|")


def markdown_to_text(markdown: str) -> str:
    """The text of a Markdown document, heading lines kept as ``#`` lines."""
    markdown = _FRONT_MATTER.sub("", markdown.replace("\r\n", "\n"), count=1)
    blocks = _Blocks()
    for line in _HTML_COMMENT.sub("", markdown).split("\n"):
        blocks.add(line)
    return _BLANK_LINES.sub("\n\n", "\n".join(blocks.out)).strip("\n")


class _Blocks:
    """Line-by-line block structure: code fences, headings, tables, the rest."""

    def __init__(self) -> None:
        self.out: list[str] = []
        self._previous = ""
        self._fence: str | None = None
        self._in_table = False

    def add(self, line: str) -> None:
        if self._fence is not None:
            if line.lstrip(" ").startswith(self._fence):
                self._fence = None
            else:
                self.out.append(line)
            return
        opening = _FENCE.match(line)
        if opening:
            self._fence = opening.group(1)
            return
        line = _BLOCKQUOTE.sub("", line)
        self._add_block_line(line)
        self._previous = line

    def _add_block_line(self, line: str) -> None:
        out = self.out
        if not line.strip():
            self._in_table = False
            out.append("")
        elif heading := _ATX_HEADING.match(line):
            title = _inline(_HEADING_ID.sub("", heading.group(2) or ""))
            out.append(f"{heading.group(1)} {title}" if title else "")
        elif _TABLE_DELIMITER.match(line) and out and "|" in self._previous:
            out[-1] = _table_row(self._previous)
            self._in_table = True
        elif self._in_table or line.lstrip().startswith("|"):
            out.append(_table_row(line))
        elif (underline := _SETEXT_UNDERLINE.match(line)) and out and out[-1].strip():
            level = "# " if underline.group(1)[0] == "=" else "## "
            out[-1] = out[-1] if out[-1].startswith("#") else level + out[-1].strip()
        elif _FOOTNOTE_DEFINITION.match(line):
            out.append(_inline(_FOOTNOTE_DEFINITION.sub("", line)))
        elif _THEMATIC_BREAK.match(line) or _REFERENCE_DEFINITION.match(line):
            out.append("")
        else:
            out.append(_inline(_HARD_BREAK.sub("", line)))


def _inline(text: str) -> str:
    parked = "\\" in text
    if parked:
        text = _ESCAPE.sub(lambda m: chr(_PARK + ord(m.group(1))), text)
    if "!" in text or "<" in text:
        text = _HTML_IMAGE.sub("", _IMAGE.sub("", text))
    if "[" in text:
        text = _LINK.sub(r"\1", _FOOTNOTE_REFERENCE.sub("", text))
    if "<" in text:
        text = _AUTOLINK.sub(r"\1", text)
    if "`" in text:
        text = _CODE_SPAN.sub(lambda m: m.group(2).strip(" "), text)
    if "*" in text or "_" in text:
        text = _STRONG.sub(r"\2", text)
        text = _STAR_EMPHASIS.sub(r"\1", text)
        text = _UNDERSCORE_EMPHASIS.sub(r"\1", text)
    if "~~" in text:
        text = _STRIKETHROUGH.sub(r"\1", text)
    return _PARKED.sub(lambda m: chr(ord(m.group(0)) - _PARK), text) if parked else text


def _table_row(line: str) -> str:
    cells = _CELL_SEPARATOR.split(line.strip().removeprefix("|").removesuffix("|"))
    return " ".join(_inline(cell.strip()) for cell in cells if cell.strip())
