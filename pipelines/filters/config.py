"""Settings of the quality filters, one dataclass per filter (YAML section `filters:`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal


@dataclass
class LengthFilterConfig:
    enabled: bool = True
    min_chars: int = 50
    max_chars: int = 200_000


@dataclass
class CjkFilterConfig:
    enabled: bool = True
    min_fraction: float = 0.2


@dataclass
class RepetitionFilterConfig:
    enabled: bool = True
    unit: Literal["char", "word"] = "char"
    dup_line_fraction: float = 0.287
    dup_para_fraction: float = 0.30
    top_ngram_fractions: dict[int, float] = field(
        default_factory=lambda: {2: 0.256, 3: 0.201, 4: 0.171}
    )
    dup_ngram_fractions: dict[int, float] = field(
        default_factory=lambda: {5: 0.198, 6: 0.180, 7: 0.165, 8: 0.150, 9: 0.138, 10: 0.127}
    )


@dataclass
class SymbolFilterConfig:
    enabled: bool = True
    max_symbol_fraction: float = 0.25
    max_punctuation_fraction: float = 0.35
    max_digit_fraction: float = 0.5


@dataclass
class BoilerplateFilterConfig:
    enabled: bool = True
    max_removed_line_fraction: float = 0.5


@dataclass
class LanguageFilterConfig:
    enabled: bool = True
    allowed: list[str] = field(default_factory=lambda: ["zh", "en"])


@dataclass
class FiltersConfig:
    length: LengthFilterConfig = field(default_factory=LengthFilterConfig)
    cjk: CjkFilterConfig = field(default_factory=CjkFilterConfig)
    repetition: RepetitionFilterConfig = field(default_factory=RepetitionFilterConfig)
    symbols: SymbolFilterConfig = field(default_factory=SymbolFilterConfig)
    boilerplate: BoilerplateFilterConfig = field(default_factory=BoilerplateFilterConfig)
    language: LanguageFilterConfig = field(default_factory=LanguageFilterConfig)
