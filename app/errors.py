"""Error pages and JSON errors: a clear message, never a stack trace."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .api import errors as api_errors

log = logging.getLogger(__name__)

MESSAGES = {
    400: lazy_gettext("Permintaan tidak dapat diproses. Periksa isian Anda lalu coba lagi."),
    401: lazy_gettext("Masuk terlebih dahulu untuk membuka halaman ini."),
    403: lazy_gettext("Anda tidak berhak membuka halaman ini."),
    404: lazy_gettext("Halaman tidak ditemukan."),
    405: lazy_gettext("Metode tidak diizinkan untuk alamat ini."),
    410: lazy_gettext("Tautan sudah tidak berlaku."),
    413: lazy_gettext("Berkas terlalu besar."),
    500: lazy_gettext("Terjadi kesalahan di server. Coba lagi beberapa saat lagi; bila berulang, hubungi admin."),
}


def _wants_json() -> bool:
    return request.path.startswith(("/api/", "/csc/")) or request.accept_mimetypes.best == "application/json"


def respond(status: int, message: str):
    """Answer ``message`` with ``status``: JSON for the APIs and JSON clients, the error page otherwise."""
    message = str(message)  # a lazy default, translated now
    if _wants_json():
        return jsonify(error=message, status=status), status
    return render_template("errors/error.html", status=status, message=message), status


def _with_headers(answer, error: HTTPException):
    """Return the answer with the headers Werkzeug sets for the error, such as a 405's ``Allow`` (RFC 9110)."""
    answer = make_response(answer)
    answer.headers.update((name, value) for name, value in error.get_headers() if name.lower() != "content-type")
    return answer


def init_app(app: Flask) -> None:
    """Register the handlers."""

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return respond(400, _("Sesi formulir sudah kedaluwarsa. Muat ulang halaman lalu kirim lagi."))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if request.path.startswith("/api/") and error.code in api_errors.HTTP_ERRORS:  # the API's own table
            return _with_headers(api_errors.response(api_errors.ApiError(api_errors.HTTP_ERRORS[error.code])), error)
        default = MESSAGES.get(error.code or 500, error.name)
        description = error.description if error.description and not error.description.startswith(("The ", "You ")) else default
        return _with_headers(respond(error.code or 500, description), error)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return respond(500, MESSAGES[500])
