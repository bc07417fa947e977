"""Security headers on every kind of response, and pages and templates free of the inline code the CSP forbids."""

from __future__ import annotations

import io
import json
import re
from html.parser import HTMLParser

from app import security_headers
from app.models import Role
from app.settings import REPO_ROOT
from tests.pdfs import make_pdf
from tests.subscribers import create_agency, create_agency_head, create_staff, signed_in_client

TEMPLATES = REPO_ROOT / "templates"
EMAIL_TEMPLATES = {"messages/_email.html"}  # the HTML part of e-mails: mail clients need inline styles; never served
HTMX_EVAL_ATTRIBUTES = ("hx-vals", "hx-headers", "data-hx-vals", "data-hx-headers")


def assert_secure(response, camera: str = "()") -> None:
    """Assert the security headers every response carries, with the camera allowed as ``camera`` says."""
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'self'"
    assert "unsafe" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert f"camera={camera}" in response.headers["Permissions-Policy"].replace(" ", "").split(",")
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP


class InlineCode(HTMLParser):
    """Collect what a strict CSP blocks: event-handler and style attributes, inline scripts and styles, eval in HTMX."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = (value or "").strip()
            if name.startswith("on") or re.match(r"(data-)?hx-on", name) or name == "style":
                self.found.append(f"<{tag} {name}=…>")
            elif name in ("href", "src", "action", "formaction") and value.lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")
            elif (name in HTMX_EVAL_ATTRIBUTES and value.startswith(("js:", "javascript:"))) or name.endswith("hx-vars"):
                self.found.append(f"<{tag} {name}> evaluates script")
            elif name.endswith("hx-trigger") and "[" in value:
                self.found.append(f"<{tag} hx-trigger> has a filter expression (eval)")
        if tag == "style":
            self.found.append("<style> element")
        if tag == "script" and not dict(attrs).get("src"):
            self.found.append("inline <script>")


def inline_code(html: str) -> list[str]:
    """Return what in ``html`` a CSP without 'unsafe-inline' and 'unsafe-eval' would block."""
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.found


def without_jinja(source: str) -> str:
    """Return a template's HTML with its Jinja tags replaced (expressions by a word, statements and comments by nothing)."""
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.DOTALL)
    source = re.sub(r"\{%.*?%\}", "", source, flags=re.DOTALL)
    return re.sub(r"\{\{.*?\}\}", "x", source, flags=re.DOTALL)


def assert_page(response, status: int = 200, camera: str = "()") -> None:
    """Assert a page's status, its headers and that its HTML has no inline code."""
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert_secure(response, camera)
    assert inline_code(response.get_data(as_text=True)) == [], response.request.path


def test_the_checker_finds_inline_code():
    page = ('<button onclick="go()">a</button><p style="x">b</p><a href="javascript:go()">c</a><script>go()</script>'
            '<style>p{}</style><b hx-on:click="go()"></b><i hx-vals="js:{a: 1}"></i><u hx-trigger="click[ctrlKey]"></u>'
            '<script></script><script src="/static/app.js"></script>')
    assert len(inline_code(page)) == 9


def test_no_template_has_inline_handlers_scripts_or_styles():
    found = {}
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name not in EMAIL_TEMPLATES and (problems := inline_code(without_jinja(path.read_text()))):
            found[name] = problems
    assert found == {}


def test_htmx_is_configured_to_need_neither_eval_nor_inline_styles(client):
    html = client.get("/login").get_data(as_text=True)
    config = json.loads(re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html).group(1))
    assert config["includeIndicatorStyles"] is False  # else HTMX adds a <style> the CSP blocks
    assert config["allowEval"] is False  # hx-on and js: values would need 'unsafe-eval'
    assert "style" not in config["attributesToSettle"]  # a swap would set style="" (left by autofill) again: blocked
    css = (REPO_ROOT / "static" / "app.css").read_text()
    assert ".htmx-indicator {" in css and ".htmx-request .htmx-indicator" in css  # the indicator styles HTMX left out


def test_anonymous_pages_api_pki_and_static_files_carry_the_headers(client):
    for path in ("/", "/login", "/lupa-sandi", "/daftar", "/verify", "/api/v2/docs"):
        assert_page(client.get(path))
    assert_page(client.get("/tidak-ada"), 404)
    assert_page(client.get("/tandatangan", follow_redirects=True))  # sent to the sign-in page
    for response in (client.get("/api/v2/openapi.json"), client.post("/api/v2/sign/pdf", json={}),
                     client.get("/pki/root.crt"), client.get("/pki/issuing.crl"), client.get("/healthz"),
                     client.get("/static/app.css"), client.get("/static/htmx.min.js")):
        assert response.status_code in (200, 401), response.request.path
        assert_secure(response)
        response.close()


def test_signed_in_pages_of_every_role_carry_the_headers(app):
    agency_id = create_agency(app, "H").id
    verifier = signed_in_client(app, create_staff(app, Role.VERIFIER, agency_id, authenticator=True).user_id)
    for path in ("/verifikator/", "/verifikator/daftar", "/verifikator/perubahan-data", "/verifikator/surat",
                 "/akun/perangkat"):
        assert_page(verifier.get(path))
    ra = signed_in_client(app, create_staff(app, Role.CENTRAL_RA, authenticator=True).user_id)
    assert_page(ra.get("/ra/"))
    admin = signed_in_client(app, create_staff(app, Role.ADMIN, authenticator=True).user_id)
    assert_page(admin.get("/admin/klien-api"))
    head = signed_in_client(app, create_agency_head(app, agency_id).user_id)
    assert_page(head.get("/pimpinan/"))


def test_signing_pages_the_signed_pdf_and_its_verification(app, subscriber_with_certificate):
    client = signed_in_client(app, subscriber_with_certificate.user_id)
    for path in ("/tandatangan", "/tandatangan/riwayat", "/alur", "/alur/baru", "/sertifikat", "/profil"):
        assert_page(client.get(path))
    response = client.post("/tandatangan", data={"files": (io.BytesIO(make_pdf()), "surat.pdf", "application/pdf")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    place = client.get(response.headers["Location"])
    assert_page(place)  # the stamp placement page with its page thumbnails
    thumbnail = re.search(r'<img src="([^"]+)"', place.get_data(as_text=True)).group(1)
    assert_secure(client.get(thumbnail))
    form = {"mode": "visible", "page": "0", "x": "300", "y": "40", "reason": "", "location": "", "acting_kind": "",
            "acting_position": "", "passphrase": subscriber_with_certificate.passphrase}
    signed = client.post(response.headers["Location"], data=form)
    assert signed.status_code == 303, signed.get_data(as_text=True)
    results = client.get(signed.headers["Location"])
    assert_page(results)
    download = client.get(re.search(r'href="(/tandatangan/unduh/[0-9a-f]{32})"', results.get_data(as_text=True)).group(1))
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert_secure(download)
    report = client.post("/verify", data={"file": (io.BytesIO(download.data), "surat.pdf", "application/pdf")},
                         content_type="multipart/form-data")
    assert_page(report)


def test_only_the_selfie_pages_may_use_the_camera(app, wizard):
    assert security_headers.CAMERA_PAGES <= set(app.view_functions)  # a renamed page would silently lose the camera
    client, *_ = wizard()
    assert_page(client.get("/aktivasi"), camera="(self)")
    assert_page(client.get("/aktivasi?langkah=swafoto"), camera="(self)")
    assert_secure(client.get("/login"))  # camera=()


def test_hsts_only_over_https_unless_forced(app, client, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    monkeypatch.setitem(app.config, "FORCE_HSTS", True)
    assert client.get("/pki/root.crt").headers["Strict-Transport-Security"] == "max-age=31536000"
