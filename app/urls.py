"""Absolute URLs for links sent by e-mail and WhatsApp, built from the configured public base URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def public_url(endpoint: str, **values) -> str:
    """Return the absolute URL of ``endpoint`` under ``PUBLIC_BASE_URL`` (never from the request's Host header)."""
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, script_name=base.path or "/", url_scheme=base.scheme)
    return adapter.build(endpoint, values, force_external=True)
