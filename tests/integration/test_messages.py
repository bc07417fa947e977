"""The messages under ``templates/messages/``: each renders with its documented context, in Indonesian and English,
and an e-mail with a sealed link arrives over SMTP with the link in its text and HTML parts."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from flask_babel import get_babel

from app.extensions import db
from app.models import OutboxMessage
from app.platform import messages, notifications

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "messages"
PARTS = (".subject.txt", ".wa.txt", ".txt")


def message_of(filename: str) -> str:
    """Return the message name a template file belongs to."""
    return next(filename[: -len(part)] for part in PARTS if filename.endswith(part))


def rendered(name: str) -> dict[str, str]:
    """Return the parts of message ``name`` rendered with its documented example (no e-mail parts if WhatsApp-only)."""
    message = messages.MESSAGES[name]
    parts = {"whatsapp": messages.whatsapp(name, message.example, message.links)}
    if (TEMPLATES / f"{name}.txt").exists():
        email = messages.email(name, message.example, message.links)
        parts.update(subject=email.subject, text=email.text)
    return parts


def test_every_template_belongs_to_a_documented_message():
    names = {message_of(path.name) for path in TEMPLATES.glob("*.txt")}
    assert names == set(messages.MESSAGES)
    for name in messages.MESSAGES:
        assert (TEMPLATES / f"{name}.txt").exists() == (TEMPLATES / f"{name}.subject.txt").exists(), name


@pytest.mark.parametrize("name", sorted(messages.MESSAGES))
def test_every_message_renders_with_its_documented_context(app_ctx, name):
    message = messages.MESSAGES[name]
    parts = rendered(name)
    for text in parts.values():
        assert text.strip() and "{{" not in text and "{%" not in text
    assert "\n" not in parts.get("subject", "")
    for link in message.links:  # each placeholder the outbox fills from the sealed links
        assert "{" + link + "}" in parts["whatsapp"] and "{" + link + "}" in parts.get("text", "{" + link + "}")
    everything = "\n".join(parts.values())
    for key, value in message.example.items():  # every documented variable is used
        assert str(value) in everything, f"{name}: {key} is not in the message"


@pytest.mark.parametrize("name", sorted(messages.MESSAGES))
def test_every_message_has_its_english_wording(app_ctx, monkeypatch, name):
    indonesian = rendered(name)
    monkeypatch.setattr(get_babel(), "default_locale", "en")
    english = rendered(name)
    assert english.keys() == indonesian.keys()
    assert all(english[part] != indonesian[part] for part in english), english


def test_a_wrong_context_or_missing_link_is_refused(app_ctx):
    example = messages.MESSAGES["password_reset"].example
    with pytest.raises(ValueError, match="takes context"):
        messages.email("password_reset", {"name": "Budi"}, ["reset"])
    with pytest.raises(ValueError, match="takes context"):
        messages.email("password_reset", example)


def test_the_html_part_escapes_the_text_and_shows_the_action_link_as_a_button(app_ctx):
    text = 'Yth. <b>Budi</b> & "kawan",\n\nRincian: https://a.test/x?y=1\n\nhttps://a.test/aksi\n'
    html = messages.email_html("Subjek <i>", text)
    assert "&lt;b&gt;Budi&lt;/b&gt; &amp; &#34;kawan&#34;" in html and "<title>Subjek &lt;i&gt;</title>" in html
    assert 'Rincian: <a href="https://a.test/x?y=1"' in html
    assert '<p style="margin:20px 0"><a href="https://a.test/aksi"' in html


def test_an_email_with_a_sealed_link_arrives_over_smtp_with_the_link(app_ctx, smtp_server):
    to = f"penerima-{secrets.token_hex(5)}@uji.go.id"
    link = f"http://paraf.test/lupa-sandi/{secrets.token_urlsafe(32)}"
    queued = notifications.email_message(to, "password_reset", {"name": "Budi Santoso", "login": "budi.12"},
                                         {"reset": link})
    db.session.commit()
    stored = db.session.get(OutboxMessage, queued.id, populate_existing=True)
    assert stored.subject == "Atur ulang kata sandi Paraf"
    assert "{reset}" in stored.body and link not in stored.body and link.encode() not in stored.sealed_links

    notifications.work(limit=1000)
    received = smtp_server.wait_for(to)
    assert received["Subject"] == "Atur ulang kata sandi Paraf"
    assert received.text.replace("\r\n", "\n").startswith(
        "Yth. Budi Santoso,\n\nAda permintaan mengatur ulang kata sandi portal Paraf untuk akun budi.12. "
        "Buka tautan berikut dalam 1 jam"
    )
    assert received.links() == [link] and "{reset}" not in received.text
    html = received.get_body(preferencelist=("html",)).get_content()
    assert f'href="{link}"' in html and "{reset}" not in html and "Yth. Budi Santoso," in html
    sent = db.session.get(OutboxMessage, queued.id, populate_existing=True)
    assert sent.sealed_links is None and link not in sent.body
