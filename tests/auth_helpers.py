"""Signing in through the portal's two steps in tests: password, then a TOTP code computed with pyotp.

The test app checks codes against ``CLOCK`` (its ``TOTP_CLOCK`` setting), a time that stands still
until a test moves it on. A code is accepted once per account and time step (±1 step of drift), so
``totp_code`` remembers the steps it handed out for each secret and gives the next unused one (the
previous, current or next step); when all three are spent it moves the clock on to the next unused
step instead of waiting for it.
"""

from __future__ import annotations

import re
import threading
import time

import pyotp

from app.domain.accounts import authenticators

_used_steps: dict[str, int] = {}
_lock = threading.Lock()


class TotpClock:
    """A time (seconds since the epoch) that stands still until moved on: the test app's ``TOTP_CLOCK``."""

    def __init__(self, start: float):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``."""
        self.now += seconds


CLOCK = TotpClock(time.time())


def give_authenticator(account, name: str = "HP uji", secret: str | None = None) -> str:
    """Give an account a confirmed authenticator device (add/flush, the caller commits); return its base32 secret."""
    _device, secret = authenticators.provision(account, name, secret)
    return secret


def totp_code(secret: str) -> str:
    """Return a code for ``secret`` the app has not taken yet (through this helper), moving the clock on if needed."""
    with _lock:
        step = authenticators.current_step(CLOCK())
        candidate = max(step - authenticators.DRIFT_STEPS, _used_steps.get(secret, -1) + 1)
        if candidate > step + authenticators.DRIFT_STEPS:  # every code the app takes now is spent: on to the next step
            CLOCK.advance((candidate - step) * authenticators.STEP_SECONDS)
        _used_steps[secret] = candidate
        return pyotp.TOTP(secret).generate_otp(candidate)


def wrong_code(secret: str) -> str:
    """Return a six-digit code that no step the app would take now gives for ``secret``."""
    step = authenticators.current_step(CLOCK())
    totp = pyotp.TOTP(secret)
    drift = authenticators.DRIFT_STEPS
    valid = {totp.generate_otp(candidate) for candidate in range(step - drift, step + drift + 1)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in valid)


def mark_used(secret: str, code: str) -> None:
    """Tell the helper that a test spent ``code`` by itself (so the helper does not hand out an older step)."""
    step = authenticators.current_step(CLOCK())
    totp = pyotp.TOTP(secret)
    with _lock:
        for candidate in range(step - authenticators.DRIFT_STEPS, step + authenticators.DRIFT_STEPS + 1):
            if totp.generate_otp(candidate) == code:
                _used_steps[secret] = max(_used_steps.get(secret, -1), candidate)


def csrf_token(client) -> str:
    """Return the session's CSRF token, read from the page ``/login`` shows or redirects to (every page carries it)."""
    page = client.get("/login", follow_redirects=True).get_data(as_text=True)
    return re.search(r'"X-CSRFToken": "([^"]+)"', page).group(1)


def send_csrf(client):
    """Make ``client`` send the session's CSRF token with every request, as the pages' HTMX does; return it."""
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


def sign_in(client, username: str, password: str, secret: str | None = None):
    """Sign a test client in: password, then (with ``secret``) a fresh TOTP code; return the last response.

    Without ``secret`` only the password step runs (a 302 to the code or set-up step on success, 401 otherwise).
    """
    token = csrf_token(client)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": password})
    if secret is None or response.status_code != 302 or not response.headers["Location"].endswith("/login/kode"):
        return response
    return client.post("/login/kode", data={"csrf_token": token, "code": totp_code(secret)})


def sign_in_page(page, base_url: str, username: str, password: str, secret: str) -> None:
    """Sign in through the pages in a Playwright browser (password, then the TOTP code)."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(re.compile(r"/login/kode"))
    page.fill("#code", totp_code(secret))
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_url(lambda url: "/login" not in url)
