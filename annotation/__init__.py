"""Annotation: rules, the preference-labeling tool, agreement, imports and exports."""
