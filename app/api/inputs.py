"""Reading eSign API requests: the JSON body, the subscriber, base64 PDFs and ``signatureProperties``."""

from __future__ import annotations

import base64
import binascii
import math
import re

from flask import current_app, request

from ..domain import keys
from ..domain.key_errors import DocumentUnusable, StampUnusable
from ..domain.signing import signatures
from ..domain.signing.signatures import Details, DocumentRefused, Placement, Upload
from ..domain.signing.uploads import STAMP_HEIGHT, STAMP_WIDTH
from .errors import ApiError
from .placement import stamp_box
from .schemas import TEXT_LIMIT, blank

_DATA_URL = re.compile(r"^data:[\w/+.-]*;base64,", re.IGNORECASE)
DOCUMENT_ERRORS = {
    "empty": "file_empty",
    "too_large": "file_too_large",
    "not_pdf": "file_not_pdf",
    "encrypted": "file_encrypted",
    "wrong_password": "file_wrong_password",
    "damaged": "file_damaged",
    "pages": "file_too_many_pages",
    "signatures": "file_too_many_signatures",
    "decoded_mb": "file_too_much_data",
    "page_size": "file_page_too_large",
    "check": "file_too_complex",
}


def body() -> dict:
    """Return the JSON object of the request, or raise ``malformed_json``."""
    data = request.get_json(force=True, silent=True)
    if not isinstance(data, dict):
        raise ApiError("malformed_json")
    return data


def given(data: dict, name: str) -> object:
    """Return a field's value, None when absent, empty or the literal ``"null"`` clients send for empty."""
    value = data.get(name)
    return None if blank(value) else value


def text(data: dict, name: str, required: bool = False, limit: int = TEXT_LIMIT) -> str | None:
    """Return a string field (trimmed), None when absent (see :func:`given`); raise ``missing_field``/``invalid_field``."""
    value = given(data, name)
    if value is None:
        if required:
            raise ApiError("missing_field", field=name)
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError("invalid_field", field=name)
    return value.strip()


def decode(value: object, index: int) -> bytes:
    """Decode one base64 file (a ``data:`` URL prefix and line breaks are allowed); raise on empty or bad base64."""
    if not isinstance(value, str):
        raise ApiError("file_not_base64", index=index)
    value = _DATA_URL.sub("", value.strip()) if value[:5].lower() == "data:" else value.strip()
    if any(space in value for space in (" ", "\n", "\r", "\t")):
        value = re.sub(r"\s+", "", value)
    if not value:
        raise ApiError("file_empty", index=index)
    limit = int(current_app.config["MAX_PDF_BYTES"])
    if len(value) * 3 // 4 > limit + 3:
        raise ApiError("file_too_large", index=index, mb=limit // (1024 * 1024))
    bare = value.rstrip("=")
    altchars = b"-_" if "-" in bare or "_" in bare else None
    try:  # standard or URL-safe alphabet, padding optional; the strict decode refuses any other character
        data = base64.b64decode(bare + "=" * (-len(bare) % 4), altchars=altchars, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("file_not_base64", index=index) from None
    if not data:
        raise ApiError("file_empty", index=index)
    return data


def refusal(exc: DocumentRefused, index: int, signing_use: bool = False) -> ApiError:
    """Return the API error of a refused document."""
    key = DOCUMENT_ERRORS.get(exc.reason, "file_damaged")
    if signing_use and key == "file_encrypted":
        key = "file_encrypted_sign"
    config = current_app.config
    mb = config["PDF_CHECK_MEMORY_MB"] if exc.reason == "check" else int(config["MAX_PDF_BYTES"]) // (1024 * 1024)
    return ApiError(key, index=index, mb=mb, max=exc.limit)


def check_pdf(data: bytes, index: int) -> None:
    """Refuse a file to sign that is not a usable, unencrypted PDF with the error of its reason."""
    try:
        signatures.check_document(Upload(f"{index}.pdf", data))
    except DocumentRefused as exc:
        raise refusal(exc, index, signing_use=True) from None


def files(values: list[str]) -> list[bytes]:
    """Return the PDFs of a validated ``file`` array, each decoded and checked."""
    documents = [decode(item, number) for number, item in enumerate(values, start=1)]
    for number, document in enumerate(documents, start=1):
        check_pdf(document, number)
    return documents


def _number(props: dict, name: str, default: float | None, index: int) -> float:
    value = given(props, name)
    value = default if value is None else value
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ApiError("bad_box", index=index) from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ApiError("bad_box", index=index)
    return float(value)


def _page(props: dict, index: int) -> int:
    value = given(props, "page")
    value = 1 if value is None else value
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ApiError("bad_page", index=index, page=value if isinstance(value, int) else "?", pages="?")
    return value


def _image(props: dict, index: int) -> bytes | None:
    value = given(props, "imageBase64")
    if not value:
        return None
    if not isinstance(value, str):
        raise ApiError("bad_image", index=index)
    try:
        image = base64.b64decode(re.sub(r"\s+", "", _DATA_URL.sub("", value)), validate=True)
        keys.check_stamp_image(image)
    except (binascii.Error, ValueError, StampUnusable):
        raise ApiError("bad_image", index=index) from None
    return image


def _details(props: dict) -> Details:
    values = {}
    for name, field in (("reason", "reason"), ("location", "location"), ("contactInfo", "contact_info")):
        values[field] = text(props, name) or ""
    return Details(**values)


def _one(props: dict, data: bytes, index: int) -> Upload:
    """Return the upload of file ``index`` with the placement and details of its properties."""
    details = _details(props)
    tampilan = str(given(props, "tampilan") or "INVISIBLE").upper()
    if tampilan not in ("VISIBLE", "INVISIBLE"):
        raise ApiError("bad_tampilan", index=index)
    if tampilan == "INVISIBLE":
        return Upload(f"api-{index}.pdf", data, Placement(), details)
    width, height = _number(props, "width", STAMP_WIDTH, index), _number(props, "height", STAMP_HEIGHT, index)
    if width <= 0 or height <= 0:
        raise ApiError("bad_box", index=index)
    x, y = _number(props, "originX", 0, index), _number(props, "originY", 0, index)
    tag = text(props, "tag_koordinat") or text(props, "tag")  # integrators' clients send either name
    try:
        page, box = stamp_box(data, index, _page(props, index), x, y, width, height, tag)
    except DocumentUnusable as exc:
        raise refusal(signatures.refused(f"{index}.pdf", exc), index, signing_use=True) from None
    details = Details(details.reason, details.location, "", details.contact_info, _image(props, index))
    return Upload(f"api-{index}.pdf", data, Placement(page=page, box=box), details)


def uploads(props: list[dict], documents: list[bytes]) -> list[Upload]:
    """Return the files with their validated ``signatureProperties`` (one for all, or one per file)."""
    if len(props) not in (1, len(documents)):
        raise ApiError("properties_count", files=len(documents))
    chosen = props * len(documents) if len(props) == 1 else props
    return [_one(item, document, number) for number, (item, document) in enumerate(zip(chosen, documents), start=1)]
