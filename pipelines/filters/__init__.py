"""Quality filters: each a small unit with named, sourced thresholds and named drop reasons."""

from pipelines.filters.base import FilterChain, FilterOutcome
from pipelines.filters.config import FiltersConfig

__all__ = ["FilterChain", "FilterOutcome", "FiltersConfig"]
