"""Signing in through the portal's two steps in tests: password, then a TOTP code computed with pyotp.

A code is accepted once per account and time step (±1 step of drift), so ``totp_code`` remembers
the steps it handed out for each secret and gives the next unused one (the previous, current or
next step): two or three sign-ins of the same account per 30-s step without waiting, then it
waits for the next step.
"""

from __future__ import annotations

import re
import threading
import time

import pyotp

from app.domain.accounts import authenticators

SPARE_SECONDS = 10
_used_steps: dict[str, int] = {}
_lock = threading.Lock()


def give_authenticator(account, name: str = "HP uji", secret: str | None = None) -> str:
    """Give an account a confirmed authenticator device (add/flush, the caller commits); return its base32 secret."""
    _device, secret = authenticators.provision(account, name, secret)
    return secret


def totp_code(secret: str) -> str:
    """Return a code for ``secret`` that the app has not accepted yet (through this helper), waiting if needed."""
    with _lock:
        while True:
            now = time.time()
            step = authenticators.current_step(now)
            left = authenticators.STEP_SECONDS - now % authenticators.STEP_SECONDS
            # The previous step's code dies at the end of this step: use it only with time to spare.
            first = step - authenticators.DRIFT_STEPS if left > SPARE_SECONDS else step
            last = _used_steps.get(secret, -1)
            for candidate in range(first, step + authenticators.DRIFT_STEPS + 1):
                if candidate > last:
                    _used_steps[secret] = candidate
                    return pyotp.TOTP(secret).generate_otp(candidate)
            time.sleep(left + 0.05)


def mark_used(secret: str, code: str) -> None:
    """Tell the helper that a test spent ``code`` by itself (so the helper does not hand out an older step)."""
    step = authenticators.current_step()
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
