"""medloom's Beam pipelines: readers, normalisation, filters, dedup, builders, reports."""
