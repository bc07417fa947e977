"""``/dev/outbox``: what Paraf sent or will send, so a developer can follow activation links without a mail server."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, current_app, render_template
from sqlalchemy import select

from ..extensions import db
from ..lifecycle import OutboxStatus
from ..models.outbox import OutboxMessage
from ..platform import notifications

bp = Blueprint("outbox", __name__, url_prefix="/dev/outbox")
log = logging.getLogger(__name__)

PAGE_SIZE = 200


@bp.before_request
def only_when_enabled():
    """Answer 404 unless the app runs in debug mode or ``OUTBOX_PAGE`` is on."""
    if not (current_app.debug or current_app.config.get("OUTBOX_PAGE")):
        abort(404)


def _links(message: OutboxMessage) -> dict[str, str]:
    """Return the links of an unsent message, or none when they cannot be unsealed."""
    try:
        return notifications.links_of(message)
    except ValueError as exc:
        log.warning("%s", exc)
        return {}


@bp.get("/")
def index():
    """List the newest messages first, with the links of those not sent yet."""
    messages = db.session.execute(
        select(OutboxMessage).order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()).limit(PAGE_SIZE)
    ).scalars().all()
    rows = [(message, _links(message) if message.status != OutboxStatus.SENT else {}) for message in messages]
    return render_template("outbox/index.html", rows=rows, page_size=PAGE_SIZE)
