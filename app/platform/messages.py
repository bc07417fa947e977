"""Every e-mail and WhatsApp text Paraf sends, as templates under ``templates/messages/``.

A message ``<name>`` is made of these files:

- ``<name>.subject.txt``: the e-mail subject (one line);
- ``<name>.txt``: the text, used as the e-mail's plain-text body and as the WhatsApp text;
- ``<name>.wa.txt``: the WhatsApp text where it differs from ``<name>.txt`` (a WhatsApp-only message has only this).

Each e-mail also gets an HTML part: ``_email.html`` lays out the plain text (paragraphs, clickable links, a
link on a paragraph of its own shown as the button of the message's one action). The outbox renders it when
it sends the mail, after the sealed links are filled in, so no HTML copy of a link is ever stored.

The wording is in ``{% trans %}`` blocks (msgids in Bahasa Indonesia, English in ``app/translations``).
Messages are rendered in the app's default language (``BABEL_DEFAULT_LOCALE``, Indonesian), not in the
language of the page that caused them: the reader is often not the person who clicked.

A link that carries a secret never goes into the context: the template writes its placeholder (``{reset}``)
and the outbox fills it in from the sealed links when it sends (see ``notifications``). :data:`MESSAGES`
documents each message's context with an example and names its link placeholders; rendering refuses any
other context or links, and an undefined variable raises.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import force_locale, get_babel
from jinja2 import Environment, StrictUndefined

LINK = re.compile(r"(https?://[^\s<>\"]+)")  # one group: ``split`` keeps the links, at odd positions


@dataclass(frozen=True)
class Message:
    """What a message needs: an example of its context (every key, each a plain value) and its link placeholders."""

    example: dict[str, Any]
    links: tuple[str, ...] = ()


NAME, EMAIL, SERIAL = "Budi Santoso", "budi@contoh.go.id", "5A3F0C19D2E4"

MESSAGES: dict[str, Message] = {
    # enrolment
    "activation": Message({"name": NAME, "agency": "Dinas Kominfo Kota Contoh"}, ("activation",)),
    "set_passphrase": Message({"name": NAME}, ("set_passphrase",)),
    "portal_account": Message({"username": "budi.12", "password": "Xk4-p9Qz-7Lm2"}),
    "phone_code": Message({"code": "428193", "minutes": 5}),
    "certificate_issued": Message({"name": NAME, "until": "31-12-2027"}),
    # accounts
    "password_reset": Message({"name": NAME, "login": "budi.12"}, ("reset",)),
    "account_suspended": Message({"name": NAME, "reason": "Perangkat terinfeksi malware."}),
    "account_suspended_verifier": Message({"name": NAME, "email": EMAIL, "reason": "Perangkat terinfeksi malware."}),
    "reactivation_returned": Message({"name": NAME, "email": EMAIL, "reason": "Bukti pindai antivirus tidak terbaca."}),
    "authenticator_reset": Message({"name": NAME, "hours": 24}, ("reset",)),
    "account_reactivated": Message({"name": NAME, "email": EMAIL}),
    # certificates
    "certificate_revoked": Message({"name": NAME, "serial": SERIAL, "reason": "Diganti sertifikat baru (superseded)"}),
    "passphrase_changed": Message({"name": NAME}),
    "passphrase_reset_link": Message({"name": NAME, "hours": 24}, ("reset_passphrase",)),
    "passphrase_reset_done": Message({"name": NAME, "new": "7B21E0A4C9F1", "old": SERIAL}),
    "certificate_expired": Message({"name": NAME, "serial": SERIAL}),
    "certificate_expiring": Message({"name": NAME, "serial": SERIAL, "until": "31-12-2027", "days": 30}),
    "data_change_revoked": Message({"name": NAME, "serial": SERIAL}),
    "data_change_confirm": Message({"name": NAME, "hours": 48}, ("data_change",)),
    # signing
    "api_sign_code": Message({"minutes": 5, "count": 3}, ("code",)),
    "seal_activation_code": Message({"agency": "Dinas Kominfo Kota Contoh", "seal": "Segel Surat Keluar",
                                     "client": "aplikasi-persuratan", "minutes": 10}, ("code",)),
    "workflow_turn": Message({"name": NAME, "owner": "Siti Aminah", "title": "Nota Dinas Nomor 12/2026", "position": 2,
                              "total": 3, "link": "https://paraf.contoh.go.id/alur/abc123"}),
    "workflow_declined": Message({"name": "Siti Aminah", "signer": NAME, "title": "Nota Dinas Nomor 12/2026",
                                  "position": 2, "total": 3, "reason": "Nomor surat salah.",
                                  "link": "https://paraf.contoh.go.id/alur/abc123"}),
    "workflow_completed": Message({"name": NAME, "title": "Nota Dinas Nomor 12/2026", "total": 3,
                                   "link": "https://paraf.contoh.go.id/alur/abc123"}),
}


@dataclass(frozen=True)
class Email:
    """A rendered e-mail: its subject and plain-text body (link placeholders still in)."""

    subject: str
    text: str


def _environment() -> Environment:
    """Return the app's Jinja environment with undefined variables raising (made once per app)."""
    extensions = current_app.extensions
    if "paraf_messages" not in extensions:
        extensions["paraf_messages"] = current_app.jinja_env.overlay(undefined=StrictUndefined)
    return extensions["paraf_messages"]


def _check(name: str, context: dict[str, Any], links: tuple[str, ...] | list[str]) -> None:
    """Refuse a context or links that differ from what :data:`MESSAGES` documents for ``name``."""
    message = MESSAGES[name]
    if set(context) != set(message.example) or set(links) != set(message.links):
        raise ValueError(f"message {name!r} takes context {sorted(message.example)} and links {sorted(message.links)}, "
                         f"not {sorted(context)} and {sorted(links)}")


def _render(template_names: list[str], context: dict[str, Any]) -> str:
    """Render the first existing template of ``template_names`` in the app's default language."""
    with force_locale(get_babel().default_locale):
        return _environment().select_template(template_names).render(context)


def email(name: str, context: dict[str, Any], links: tuple[str, ...] | list[str] = ()) -> Email:
    """Render the e-mail ``name`` (subject and text); ``links`` are the placeholders the outbox fills in.

    :raises ValueError: the context or links are not the ones :data:`MESSAGES` documents.
    """
    _check(name, context, links)
    subject = _render([f"messages/{name}.subject.txt"], context)
    return Email(subject=" ".join(subject.split()), text=_render([f"messages/{name}.txt"], context))


def whatsapp(name: str, context: dict[str, Any], links: tuple[str, ...] | list[str] = ()) -> str:
    """Render the WhatsApp text of ``name`` (``<name>.wa.txt``, else ``<name>.txt``).

    :raises ValueError: the context or links are not the ones :data:`MESSAGES` documents.
    """
    _check(name, context, links)
    return _render([f"messages/{name}.wa.txt", f"messages/{name}.txt"], context)


def _paragraph(block: str) -> dict[str, Any]:
    """Split a paragraph of plain text into lines of ``(piece, is_link)``; ``action`` is its link if it is only that."""
    lines = [[(piece, index % 2 == 1) for index, piece in enumerate(LINK.split(line)) if piece]
             for line in block.splitlines()]
    return {"action": block if LINK.fullmatch(block) else None, "lines": lines}


def email_html(subject: str, text: str) -> str:
    """Return the HTML part of an e-mail whose plain text, links filled in, is ``text``."""
    paragraphs = [_paragraph(block.strip()) for block in re.split(r"\n\s*\n", text.strip())]
    return _environment().get_template("messages/_email.html").render(
        subject=subject, paragraphs=paragraphs, lang=get_babel().default_locale
    )
