"""LaTeX (textbook chapters) → plain text with Markdown heading lines.

Kept: the prose, section titles (\\part ... \\subparagraph become ``#`` lines, the
highest level used in the file being ``#``), list items as lines, and math either as
readable text (``\\frac{a}{b}`` → a/b, ``\\mu`` → μ, ``^{2}`` → ^2) or not at all.
Dropped: comments, the preamble, figures, tables, TikZ pictures, bibliographies,
cross-references, citations, index entries and all other markup; an unknown command
loses its name and keeps the text of its braced arguments.

Spacing follows TeX as set by ctex/xeCJK: a single line break inside a paragraph is a
space, a blank line ends the paragraph, and a space between two Chinese characters is
not typeset, so it is removed.
"""

from __future__ import annotations

import re
from typing import Literal

SECTIONING = (
    "part",
    "chapter",
    "section",
    "subsection",
    "subsubsection",
    "paragraph",
    "subparagraph",
)
_SECTIONING_USE = re.compile(r"\\(" + "|".join(SECTIONING) + r")\*?\s*[\[{]")

_FULL_LINE_COMMENT = re.compile(r"^[ \t]*%.*(?:\n|\Z)", re.M)
# A % preceded by an even number of backslashes starts a comment; "\%" is a percent sign.
_TRAILING_COMMENT = re.compile(r"(?<!\\)((?:\\\\)*)%.*$", re.M)
_DOCUMENT = re.compile(r"\\begin\s*\{document\}(.*?)(?:\\end\s*\{document\}|\Z)", re.S)
_DROPPED_ENVIRONMENTS = (
    "figure",
    "table",
    "tikzpicture",
    "tabular",
    "tabularx",
    "longtable",
    "wrapfigure",
    "wraptable",
    "thebibliography",
    "comment",
    "verbatim",
    "lstlisting",
    "minted",
)
_DROPPED = re.compile(
    r"\\begin\s*\{(" + "|".join(_DROPPED_ENVIRONMENTS) + r")(\*?)\}.*?\\end\s*\{\1\2\}", re.S
)
_MATH_ENVIRONMENTS = frozenset(
    f"{name}{star}"
    for name in ("equation", "align", "gather", "multline", "eqnarray", "displaymath", "math")
    for star in ("", "*")
)
# Arguments that are not text: how many leading braced arguments each command loses.
_DROPPED_ARGUMENTS = {
    **dict.fromkeys(
        [
            "label",
            "ref",
            "eqref",
            "pageref",
            "autoref",
            "cref",
            "Cref",
            "nameref",
            "vref",
            "cite",
            "citep",
            "citet",
            "citeauthor",
            "citeyear",
            "parencite",
            "textcite",
            "autocite",
            "footcite",
            "supercite",
            "nocite",
            "index",
            "glossary",
            "includegraphics",
            "vspace",
            "hspace",
            "addvspace",
            "input",
            "include",
            "bibliography",
            "bibliographystyle",
            "usepackage",
            "documentclass",
            "pagestyle",
            "thispagestyle",
            "url",
            "hypersetup",
            "graphicspath",
            "caption",
            "color",
            "textcolor",
            "colorbox",
            "href",
            "hyperlink",
            "hypertarget",
            "rotatebox",
            "scalebox",
            "raisebox",
            "parbox",
            "CJKfamily",
            "linespread",
        ],
        1,
    ),
    **dict.fromkeys(
        [
            "setlength",
            "addtolength",
            "setcounter",
            "addtocounter",
            "newcommand",
            "renewcommand",
            "providecommand",
            "newtheorem",
            "captionof",
            "fcolorbox",
            "resizebox",
            "fontsize",
        ],
        2,
    ),
    **dict.fromkeys(["addcontentsline", "newenvironment", "renewenvironment"], 3),
}
# Of those, the ones whose last argument is text to keep.
_TEXT_AFTER_DROPPED = frozenset(
    [
        "textcolor",
        "colorbox",
        "fcolorbox",
        "href",
        "hyperlink",
        "hypertarget",
        "rotatebox",
        "scalebox",
        "resizebox",
        "raisebox",
        "parbox",
    ]
)
_ENVIRONMENT_ARGUMENTS = {"minipage": 1, "multicols": 1, "array": 1, "list": 2}
# Spaces the author asked for (~, \quad): kept even between Chinese characters.
_HARD_SPACE = "\u00a0"
# Breaks made by markup (\\, \item, a heading) are marked apart from the source's own line
# breaks, so that several in a row make one break, and a blank line only comes from a
# blank line, \par or a heading.
_LINE = "\ue001"
_PARAGRAPH = "\ue002"
_TEXT_SYMBOLS = {
    "ldots": "…",
    "dots": "…",
    "textellipsis": "…",
    "LaTeX": "LaTeX",
    "TeX": "TeX",
    "textdegree": "°",
    "textpm": "±",
    "textmu": "μ",
    "texttimes": "×",
    "textperiodcentered": "·",
    "S": "§",
    "textbackslash": "\\",
    "textasciitilde": "~",
    "textless": "<",
    "textgreater": ">",
    "textbar": "|",
    "copyright": "©",
    "textregistered": "®",
    "quad": _HARD_SPACE,
    "qquad": _HARD_SPACE,
    "enspace": _HARD_SPACE,
    "par": _PARAGRAPH,
    "newline": _LINE,
    "linebreak": _LINE,
}
_ESCAPED = {"%": "%", "&": "&", "_": "_", "#": "#", "$": "$", "{": "{", "}": "}", "@": ""}
_ACCENTS = frozenset("'`\"^~=.")

_MATH_SYMBOLS = {
    "times": "×",
    "div": "÷",
    "cdot": "·",
    "pm": "±",
    "mp": "∓",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "~",
    "equiv": "≡",
    "propto": "∝",
    "infty": "∞",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "Rightarrow": "⇒",
    "leftrightarrow": "↔",
    "uparrow": "↑",
    "downarrow": "↓",
    "partial": "∂",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "circ": "°",
    "degree": "°",
    "prime": "′",
    "ldots": "…",
    "cdots": "…",
    "dots": "…",
    "%": "%",
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ε",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "kappa": "κ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "pi": "π",
    "rho": "ρ",
    "sigma": "σ",
    "tau": "τ",
    "phi": "φ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Theta": "Θ",
    "Lambda": "Λ",
    "Sigma": "Σ",
    "Phi": "Φ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "quad": " ",
    "qquad": " ",
    ",": " ",
    ";": " ",
    ":": " ",
    " ": " ",
    "!": "",
    "{": "{",
    "}": "}",
    "$": "$",
    "&": "&",
    "#": "#",
    "_": "_",
    "|": "‖",
    "\\": "\n",
}
_MATH_DROPPED = frozenset(
    [
        "left",
        "right",
        "big",
        "Big",
        "bigg",
        "Bigg",
        "bigl",
        "bigr",
        "Bigl",
        "Bigr",
        "biggl",
        "biggr",
        "displaystyle",
        "textstyle",
        "nonumber",
        "notag",
        "limits",
        "nolimits",
    ]
)
_MATH_DROPPED_ARGUMENTS = frozenset(("label", "tag"))
_FRACTIONS = frozenset(("frac", "dfrac", "tfrac", "cfrac"))
_OPERATOR_AFTER_FIRST = re.compile(r".[\s+\-*/=×÷·±<>≤≥]")

_TEXT_SPECIAL = re.compile(r"[\\{}$~\n]")
_MATH_SPECIAL = re.compile(r"[\\{}^_&~\s]")
_COMMAND = re.compile(r"\\([A-Za-z@]+|.)", re.S)
_NEWLINES = re.compile(r"\s*")
_SPACES = re.compile(r"[ \t]*")
_INLINE_SPACES = re.compile(r"[ \t]+")
_HARD_SPACES = re.compile(r" *\u00a0[ \u00a0]*")
_CJK = "\u2e80-\u9fff\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef"
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{_CJK}]) (?=[{_CJK}])")
_CJK_PUNCTUATION = "\u3001-\u303f\uff01-\uff0f\uff1a-\uff20\uff5b-\uff65"
_SPACE_BY_CJK_PUNCTUATION = re.compile(
    f"(?<=[{_CJK_PUNCTUATION}])[ {_HARD_SPACE}]+|[ {_HARD_SPACE}]+(?=[{_CJK_PUNCTUATION}])"
)
_PARAGRAPH_BREAK = re.compile(f"[ {_LINE}{_PARAGRAPH}]*{_PARAGRAPH}[ {_LINE}{_PARAGRAPH}]*")
_LINE_BREAK = re.compile(f"[ {_LINE}]*{_LINE}[ {_LINE}]*")
_MARKERS = re.compile(f"[{_LINE}{_PARAGRAPH}]")


def latex_to_text(source: str, math: Literal["keep", "drop"] = "keep") -> str:
    """The prose of a LaTeX document with its section titles as ``#`` heading lines.

    Raises RecursionError on braces nested hundreds deep (no textbook does that).
    """
    source = _MARKERS.sub("", source.replace("\r\n", "\n"))
    source = _FULL_LINE_COMMENT.sub("", source)
    source = _TRAILING_COMMENT.sub(r"\1", source)
    document = _DOCUMENT.search(source)
    body = _DROPPED.sub(_LINE, document.group(1) if document else source)
    used = {m.group(1) for m in _SECTIONING_USE.finditer(body)}
    levels = {
        name: min(depth, 6) for depth, name in enumerate((n for n in SECTIONING if n in used), 1)
    }
    text = _Text(body, levels, keep_math=math == "keep").read()
    return _tidy(text)


def _tidy(text: str) -> str:
    text = _SPACE_BETWEEN_CJK.sub("", _INLINE_SPACES.sub(" ", text))
    text = _SPACE_BY_CJK_PUNCTUATION.sub("", text)
    text = _LINE_BREAK.sub("\n", _PARAGRAPH_BREAK.sub("\n\n", text))
    return _HARD_SPACES.sub(" ", text).strip()


class _Text:
    """A cursor over LaTeX source in text mode."""

    def __init__(self, source: str, levels: dict[str, int], keep_math: bool) -> None:
        self._s = source
        self._pos = 0
        self._levels = levels
        self._keep_math = keep_math

    def read(self) -> str:
        return self._until_brace()

    def _until_brace(self) -> str:
        """Text up to the "}" closing the current group (consumed) or the end."""
        s, out = self._s, []
        while True:
            found = _TEXT_SPECIAL.search(s, self._pos)
            if found is None:
                out.append(s[self._pos :])
                self._pos = len(s)
                return "".join(out)
            out.append(s[self._pos : found.start()])
            char = found.group()
            self._pos = found.end()
            if char == "}":
                return "".join(out)
            if char == "{":
                out.append(self._until_brace())
            elif char == "~":
                out.append(_HARD_SPACE)
            elif char == "\n":
                gap = _NEWLINES.match(s, found.start())
                self._pos = gap.end()
                out.append(_PARAGRAPH if gap.group().count("\n") > 1 else " ")
            elif char == "$":
                out.append(self._dollar_math())
            else:
                out.append(self._command())

    def _group(self) -> str:
        """The text of the next argument: a braced group or a single character."""
        self._pos = _NEWLINES.match(self._s, self._pos).end()
        if self._s.startswith("{", self._pos):
            self._pos += 1
            return self._until_brace()
        start = self._pos
        self._pos = (
            _COMMAND.match(self._s, start).end() if self._s.startswith("\\", start) else (start + 1)
        )
        return self._s[start : self._pos]

    def _skip_optional(self) -> str:
        """Skips ``*`` and ``[...]`` arguments; returns the text of the last ``[...]``."""
        s, text = self._s, ""
        if s.startswith("*", self._pos):
            self._pos += 1
        while s.startswith("[", self._pos):
            end = s.find("]", self._pos)
            if end < 0:
                break
            text = s[self._pos + 1 : end]
            self._pos = end + 1
        return text

    def _command(self) -> str:
        s = self._s
        command = _COMMAND.match(s, self._pos - 1)
        if command is None:
            return ""
        name = command.group(1)
        self._pos = command.end()
        if len(name) == 1 and not name.isalpha():
            return self._symbol(name)
        self._pos = _SPACES.match(s, self._pos).end()
        if name in self._levels:
            self._skip_optional()
            title = " ".join(_MARKERS.sub(" ", self._group()).split())
            return f"{_PARAGRAPH}{'#' * self._levels[name]} {title}{_PARAGRAPH}"
        if name == "begin":
            return self._begin(self._group().strip())
        if name == "end":
            self._group()
            return _LINE
        if name == "item":
            label = _Text(self._skip_optional(), self._levels, self._keep_math).read()
            return f"{_LINE}{label}{_HARD_SPACE}" if label else _LINE
        if name in _DROPPED_ARGUMENTS:
            for _ in range(_DROPPED_ARGUMENTS[name]):
                self._skip_optional()
                self._group()
            self._skip_optional()
            return self._group() if name in _TEXT_AFTER_DROPPED else ""
        if name in _TEXT_SYMBOLS:
            return _TEXT_SYMBOLS[name]
        if name == "verb" and self._pos < len(s):
            end = s.find(s[self._pos], self._pos + 1)
            end = len(s) if end < 0 else end
            text, self._pos = s[self._pos + 1 : end], end + 1
            return text
        if s.startswith("[", self._pos):
            self._skip_optional()
        return ""

    def _symbol(self, char: str) -> str:
        if char == "\\":
            self._skip_optional()
            return _LINE
        if char == "(":
            return self._math_until("\\)", display=False)
        if char == "[":
            return self._math_until("\\]", display=True)
        if char in _ACCENTS:
            return self._group()
        if char in ",;: \n":
            return _HARD_SPACE
        if char in "-!/":
            return ""
        return _ESCAPED.get(char, char)

    def _begin(self, environment: str) -> str:
        if environment in _MATH_ENVIRONMENTS:
            return self._math_until(f"\\end{{{environment}}}", display=True)
        if environment.rstrip("*") in _DROPPED_ENVIRONMENTS:
            end = self._s.find(f"\\end{{{environment}}}", self._pos)
            if end >= 0:
                self._pos = end + len(environment) + 6
                return _LINE
        for _ in range(_ENVIRONMENT_ARGUMENTS.get(environment, 0)):
            self._skip_optional()
            self._group()
        self._skip_optional()
        return _LINE

    def _dollar_math(self) -> str:
        if self._s.startswith("$", self._pos):
            self._pos += 1
            return self._math_until("$$", display=True)
        return self._math_until("$", display=False)

    def _math_until(self, closing: str, display: bool) -> str:
        s, pos = self._s, self._pos
        end = pos
        while True:
            end = s.find(closing, end)
            if end < 0:
                end = len(s)
                break
            # "\$" inside $...$ is a dollar sign, not the end.
            if closing[0] == "$" and _escaped(s, end):
                end += 1
                continue
            break
        self._pos = min(len(s), end + len(closing))
        if not self._keep_math:
            return _LINE if display else ""
        text = math_to_text(s[pos:end]).replace("\n", _LINE)
        return f"{_LINE}{text}{_LINE}" if display else text


def _escaped(s: str, pos: int) -> bool:
    backslashes = 0
    while pos - backslashes > 0 and s[pos - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def math_to_text(math: str) -> str:
    """LaTeX math as readable text: ``5 \\times 10^{9}/L`` → ``5 × 10^9/L``."""
    return _INLINE_SPACES.sub(" ", _Math(math).read()).strip(" ")


class _Math:
    """A cursor over LaTeX math."""

    def __init__(self, source: str) -> None:
        self._s = source
        self._pos = 0

    def read(self) -> str:
        return self._until_brace()

    def _until_brace(self) -> str:
        s, out = self._s, []
        while True:
            found = _MATH_SPECIAL.search(s, self._pos)
            if found is None:
                out.append(s[self._pos :])
                self._pos = len(s)
                return "".join(out)
            out.append(s[self._pos : found.start()])
            char = found.group()
            self._pos = found.end()
            if char == "}":
                return "".join(out)
            if char == "{":
                out.append(self._until_brace())
            elif char in "^_":
                out.append(self._script(char))
            elif char in "&~" or char.isspace():
                out.append(" ")
            else:
                out.append(self._command())

    def _argument(self) -> str:
        s = self._s
        self._pos = _NEWLINES.match(s, self._pos).end()
        if s.startswith("{", self._pos):
            self._pos += 1
            return self._until_brace().strip()
        if s.startswith("\\", self._pos):
            self._pos += 1
            return self._command()
        start, self._pos = self._pos, min(len(s), self._pos + 1)
        return s[start : self._pos]

    def _script(self, mark: str) -> str:
        argument = self._argument()
        if mark == "^" and argument in ("°", "′"):
            return argument
        return mark + _parenthesised(argument)

    def _command(self) -> str:
        s = self._s
        command = _COMMAND.match(s, self._pos - 1)
        if command is None:
            return ""
        name = command.group(1)
        self._pos = command.end()
        if name in _MATH_SYMBOLS:
            return _MATH_SYMBOLS[name]
        if name in _FRACTIONS:
            numerator = self._argument()
            denominator = self._argument()
            return f"{_parenthesised(numerator)}/{_parenthesised(denominator)}"
        if name == "sqrt":
            if s.startswith("[", self._pos):
                end = s.find("]", self._pos)
                self._pos = len(s) if end < 0 else end + 1
            return "√" + _parenthesised(self._argument())
        if name in _MATH_DROPPED:
            if s.startswith(".", self._pos):
                self._pos += 1
            return ""
        if name in _MATH_DROPPED_ARGUMENTS:
            self._argument()
            return ""
        return ""


def _parenthesised(text: str) -> str:
    return f"({text})" if _OPERATOR_AFTER_FIRST.search(text) else text
