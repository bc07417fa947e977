"""Security headers on every response: pages, fragments, API JSON, /pki answers, downloads and static files.

The Content-Security-Policy allows scripts and styles only from Paraf's own static files (no inline code, no
eval), so templates carry no ``on...=`` handler, ``style=`` attribute or inline ``<script>``. The camera is
allowed only on the pages that take a selfie; HSTS is sent on HTTPS requests (or always, with ``FORCE_HSTS``).
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; "  # data: for the authenticator set-up's QR code
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# Pages whose document takes a selfie (the wizard, issuance and passphrase-reset steps swap in the camera by HTMX).
CAMERA_PAGES = frozenset({"enrolment.wizard", "enrolment.issue_page", "certificates.reset_page"})

HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    """Add the security headers to every response."""
    app.after_request(_add_headers)


def _add_headers(response: Response) -> Response:
    """Set the security headers of ``response`` (a view's stricter ``Referrer-Policy`` is kept)."""
    camera = "(self)" if request.endpoint in CAMERA_PAGES else "()"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Not no-referrer by default: Flask-WTF's CSRF check needs the same-origin Referer on HTTPS. Pages whose URL
    # carries a link token say no-referrer themselves, and keep it.
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    response.headers["Permissions-Policy"] = f"camera={camera}, microphone=(), geolocation=()"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if request.is_secure or current_app.config["FORCE_HSTS"]:
        response.headers["Strict-Transport-Security"] = HSTS
    return response
