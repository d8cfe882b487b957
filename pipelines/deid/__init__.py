"""De-identification: find the identifiers of Chinese (and English) medical text and
replace them with consistent surrogates, tags or masks; a leak gate checks the result.

    config = DeidConfig()
    engine = Deidentifier(config, load_secret(config))
    text, counts = engine.apply("患者张伟，电话13812345678。", doc_key="doc-1")
"""

from pipelines.deid.config import DeidConfig, load_secret
from pipelines.deid.engine import Deidentifier
from pipelines.deid.leak_gate import LeakGate
from pipelines.deid.spans import CATEGORIES, DIRECT_CATEGORIES, PhiSpan

__all__ = [
    "CATEGORIES",
    "DIRECT_CATEGORIES",
    "DeidConfig",
    "Deidentifier",
    "LeakGate",
    "PhiSpan",
    "load_secret",
]
