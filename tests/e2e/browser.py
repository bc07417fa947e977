"""Debian's Chromium for the browser tests (Playwright never downloads a browser here), and page helpers.

One Chromium serves every browser test (``tests/e2e/conftest.py``); each test gets a :class:`Browser`
whose contexts are closed when the test ends. The fake camera plays the clip file Chromium was started
with; :meth:`Browser.camera` replaces that file, and Chromium reads it again at the next ``getUserMedia``.
A test whose pages report a Content-Security-Policy violation on the console fails (see ``conftest.py``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from flask import Flask
from playwright.sync_api import Browser as Chromium
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, expect

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google on this closed network.
QUIET = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def launch(playwright, camera_clip: Path):
    """Start headless Chromium whose camera is a fake one playing ``camera_clip`` (a Y4M file)."""
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={camera_clip}"]
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=QUIET + camera)


class Browser:
    """One test's use of the shared Chromium: its contexts, its camera's clip, the CSP violations its pages logged."""

    def __init__(self, chromium: Chromium, camera_file: Path, clip_of: Callable[[str], Path]):
        self._chromium, self._camera_file, self._clip_of = chromium, camera_file, clip_of
        self._contexts: list[BrowserContext] = []
        self.csp_violations: list[str] = []

    def new_context(self, **options) -> BrowserContext:
        """Open a fresh context (its own cookies and storage), closed by :meth:`close_contexts` or after the test."""
        context = self._chromium.new_context(**options)
        context.on("console", self._console)
        self._contexts.append(context)
        return context

    def camera(self, photo_name: str) -> None:
        """Make the camera show ``photo_name``'s face from the next ``getUserMedia`` on (no camera may be open)."""
        staged = self._camera_file.with_suffix(".next")
        shutil.copyfile(self._clip_of(photo_name), staged)
        os.replace(staged, self._camera_file)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            page = message.page.url if message.page else "?"
            self.csp_violations.append(f"{page} (from {message.location.get('url')}): {message.text}")

    def close_contexts(self) -> None:
        """Close every context this test opened (their pages and cameras with them)."""
        while self._contexts:
            self._contexts.pop().close()


def session_cookie(app: Flask, user_id: str) -> dict:
    """Return a Flask session cookie signed in as ``user_id``, made on a test client, for the browser."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    return {"name": cookie.key, "value": cookie.value, "domain": "127.0.0.1", "path": "/", "httpOnly": True}


def page_as(browser: Browser, app: Flask, user_id: str, **options) -> Page:
    """Return a page in a fresh context signed in as ``user_id`` (``Account.get_id()``)."""
    context = browser.new_context(**options)
    context.add_cookies([session_cookie(app, user_id)])
    return context.new_page()


def take_selfie(page: Page) -> None:
    """Wait for the camera, take the picture and send it."""
    page.wait_for_function("() => { const v = document.querySelector('[data-camera] video'); "
                           "return v && v.videoWidth > 0; }")
    page.get_by_role("button", name="Ambil foto").click()
    send = page.get_by_role("button", name="Kirim swafoto")
    expect(send).to_be_enabled()
    send.click()
