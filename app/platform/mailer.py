"""Transports that hand a message to an SMTP server or a WhatsApp gateway; no Flask, no database."""

from __future__ import annotations

import json
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit
from urllib.request import Request, urlopen

MAX_ERROR_CHARS = 300


class TransportError(Exception):
    """The server or gateway did not accept the message; the text names no secret."""


def _describe(exc: BaseException) -> str:
    """Return a short description of a low-level failure (type and text, truncated)."""
    return f"{type(exc).__name__}: {exc}"[:MAX_ERROR_CHARS]


class SmtpTransport:
    """Send e-mail through an SMTP server (plain, STARTTLS or implicit TLS; optional login)."""

    def __init__(
        self,
        host: str,
        port: int,
        use_tls: bool = False,
        use_ssl: bool = False,
        username: str = "",
        password: str = "",
        sender: str = "Paraf <no-reply@paraf.local>",
        timeout: float = 10.0,
    ):
        self.host, self.port = host, int(port)
        self.use_tls, self.use_ssl = use_tls, use_ssl
        self.username, self.password = username, password
        self.sender, self.timeout = sender, timeout

    def __repr__(self) -> str:
        return f"SmtpTransport({self.host!r}, {self.port}, use_tls={self.use_tls}, use_ssl={self.use_ssl})"

    @classmethod
    def from_config(cls, config: Mapping) -> SmtpTransport:
        """Build the transport from the ``MAIL_*`` configuration keys."""
        return cls(
            host=config["MAIL_SERVER"],
            port=config["MAIL_PORT"],
            use_tls=bool(config["MAIL_USE_TLS"]),
            use_ssl=bool(config["MAIL_USE_SSL"]),
            username=config["MAIL_USERNAME"],
            password=config["MAIL_PASSWORD"],
            sender=config["MAIL_FROM"],
            timeout=config.get("MAIL_TIMEOUT", 10),
        )

    def build(self, to: str, subject: str, body: str, html: str | None = None) -> EmailMessage:
        """Return the message: plain text, with an HTML alternative when ``html`` is given."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = to
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "paraf.local"
        message["Message-ID"] = make_msgid(domain=domain)
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
        return message

    def send(self, to: str, subject: str, body: str, html: str | None = None) -> None:
        """Hand one message to the server; raise ``TransportError`` when it is not accepted."""
        message = self.build(to, subject, body, html)
        context = ssl.create_default_context()
        try:
            if self.use_ssl:
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.use_tls and not self.use_ssl:
                    client.starttls(context=context)
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as exc:
            raise TransportError(f"SMTP {self.host}:{self.port}: {_describe(exc)}") from None


class WhatsAppTransport:
    """Send WhatsApp messages through an HTTP gateway: POST JSON ``{"to", "message"}`` with a bearer token."""

    def __init__(self, url: str, token: str, timeout: float = 10.0):
        self.url, self.token, self.timeout = url, token, timeout

    def __repr__(self) -> str:
        return f"WhatsAppTransport({urlsplit(self.url).netloc!r})"

    @classmethod
    def from_config(cls, config: Mapping) -> WhatsAppTransport | None:
        """Build the transport from ``WHATSAPP_GATEWAY_*``; return None when no gateway is configured."""
        if not config.get("WHATSAPP_GATEWAY_URL"):
            return None
        return cls(
            url=config["WHATSAPP_GATEWAY_URL"],
            token=config["WHATSAPP_GATEWAY_TOKEN"],
            timeout=config.get("WHATSAPP_TIMEOUT", 10),
        )

    def send(self, to: str, message: str) -> None:
        """Post one message to the gateway; raise ``TransportError`` unless it answers 2xx."""
        payload = json.dumps({"to": to, "message": message}).encode("utf-8")
        request = Request(
            self.url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Bearer {self.token}",
            },
        )
        host = urlsplit(self.url).netloc  # the URL's path or query may carry a key: name only the host
        try:
            with urlopen(request, timeout=self.timeout) as response:
                response.read()
        except HTTPError as exc:
            exc.close()  # the body may echo the message: never read into errors
            raise TransportError(f"WhatsApp gateway {host}: HTTP {exc.code}") from None
        except URLError as exc:
            raise TransportError(f"WhatsApp gateway {host}: {_describe(exc.reason)}") from None
        except (OSError, ValueError) as exc:
            raise TransportError(f"WhatsApp gateway {host}: {type(exc).__name__}") from None
