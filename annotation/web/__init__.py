"""The preference-labeling web tool: `create_app(store_url, secret)` (see app.py)."""

from annotation.web.app import create_app

__all__ = ["create_app"]
