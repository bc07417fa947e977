"""CSC-shaped errors: ``{"error", "error_description"}`` with a 4xx status, descriptions in English as the spec's."""

from __future__ import annotations

from flask import jsonify

KEPT = ("invalid_pin", "locked")  # the wrong-passphrase count is committed


class CscError(Exception):
    """Answer with a CSC error; ``keep_changes`` commits the request's changes although it fails (a counted try)."""

    def __init__(self, error: str, description: str, status: int = 400, keep_changes: bool | None = None):
        super().__init__(error)
        self.error, self.description, self.status = error, description, status
        self.keep_changes = error in KEPT if keep_changes is None else keep_changes


def response(error: CscError):
    """Return the JSON response of an error."""
    answer = jsonify(error=error.error, error_description=error.description)
    answer.status_code = error.status
    if error.status == 401:
        answer.headers["WWW-Authenticate"] = 'Bearer realm="Paraf CSC"'
    return answer


def invalid_request(description: str) -> CscError:
    """Return a 400 ``invalid_request``."""
    return CscError("invalid_request", description)
