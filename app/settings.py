"""Configuration defaults, the instance folder, and what the environment may override."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

from flask import Flask

from .instance_setup import read_config

REPO_ROOT = Path(__file__).resolve().parent.parent

SOFTHSM_MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)

# Environment variables read over instance/config.py, with their config keys.
ENVIRONMENT_KEYS = {
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "PUBLIC_BASE_URL": "PUBLIC_BASE_URL",
    "PKCS11_MODULE": "PKCS11_MODULE",
    "HSM_TOKEN_LABEL": "HSM_TOKEN_LABEL",
    "HSM_USER_PIN": "HSM_USER_PIN",
    "SOFTHSM2_CONF": "SOFTHSM2_CONF",
    "SECRET_KEY": "SECRET_KEY",
    "LOG_LEVEL": "LOG_LEVEL",
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_PORT": "MAIL_PORT",
    "MAIL_USE_TLS": "MAIL_USE_TLS",
    "MAIL_USE_SSL": "MAIL_USE_SSL",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_FROM": "MAIL_FROM",
    "WHATSAPP_GATEWAY_URL": "WHATSAPP_GATEWAY_URL",
    "WHATSAPP_GATEWAY_TOKEN": "WHATSAPP_GATEWAY_TOKEN",
    "REGISTRY_URL": "REGISTRY_URL",
    "REGISTRY_TOKEN": "REGISTRY_TOKEN",
    "PUBLIC_HOLIDAYS": "PUBLIC_HOLIDAYS",
    "CERTIFICATE_SWEEP_SECONDS": "CERTIFICATE_SWEEP_SECONDS",
    "API_MAX_BODY_BYTES": "API_MAX_BODY_BYTES",
    "API_MAX_FILES": "API_MAX_FILES",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "FORCE_HSTS": "FORCE_HSTS",
}


def instance_path() -> Path:
    """Return the instance folder: ``PARAF_INSTANCE`` or ``instance/`` in the repository."""
    return Path(os.environ.get("PARAF_INSTANCE") or REPO_ROOT / "instance").resolve()


def default_module() -> str:
    """Return the first SoftHSM2 PKCS#11 module found on this machine."""
    for candidate in SOFTHSM_MODULE_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return SOFTHSM_MODULE_CANDIDATES[0]


def served_base_url() -> str:
    """Return the URL ``make run`` serves on, from ``HOST`` and ``PORT``."""
    return f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '5000')}"


def defaults(instance: Path) -> dict:
    """Return the configuration used when neither the instance nor the environment says otherwise."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'paraf.db'}",
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "PUBLIC_BASE_URL": served_base_url(),
        "PKCS11_MODULE": default_module(),
        "HSM_TOKEN_LABEL": "paraf",
        "HSM_USER_PIN": None,
        "SOFTHSM2_CONF": str(instance / "softhsm" / "softhsm2.conf"),
        "KDF_MEMORY_KIB": 19 * 1024,
        "KDF_TIME_COST": 2,
        "KDF_PARALLELISM": 1,
        # argon2id cost of portal password hashes (argon2-cffi's defaults, RFC 9106's low-memory profile)
        "PASSWORD_HASH_TIME_COST": 3,
        "PASSWORD_HASH_MEMORY_KIB": 64 * 1024,
        "PASSWORD_HASH_PARALLELISM": 4,
        "TOTP_CLOCK": time.time,  # seconds since the epoch that authenticator codes are checked against
        "CERTIFICATE_POLICY_OID": None,
        "SUBSCRIBER_VALIDITY_DAYS": 730,
        "CRL_VALIDITY_HOURS": 24,
        "OCSP_VALIDITY_MINUTES": 60,
        "STAMP_FONT": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "MAX_CONTENT_LENGTH": 50 * 1024 * 1024,
        "MAX_PDF_BYTES": 20 * 1024 * 1024,  # one PDF to sign or verify
        # Bounds on an uploaded PDF (to sign, verify, or route): refused with a 4xx naming the bound
        "PDF_MAX_PAGES": 2000,
        "PDF_MAX_SIGNATURES": 50,  # signatures validated in one document
        "PDF_MAX_DECODED_MB": 200,  # bytes its compressed streams may decode to, in all
        "THUMBNAIL_MAX_PIXELS": 1_000_000,  # a page thumbnail is scaled down to fit, whatever the page size
        # Uploaded PDFs are opened, validated and rendered in child processes (per worker), each killed past these
        "PDF_CHECK_PROCESSES": 2,
        "PDF_CHECK_SECONDS": 15,
        "PDF_CHECK_MEMORY_MB": 1024,  # address space (RLIMIT_AS) of each child
        "SIGNING_MAX_FILES": 20,  # PDFs in one signing batch
        "SIGNING_MAX_WRONG_PASSPHRASES": 5,  # in a row, then signing locks until a passphrase reset
        "SIGNING_UPLOAD_TTL_MINUTES": 60,  # unsigned uploads under instance/uploads/ are deleted after this
        "LOG_LEVEL": "INFO",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_IDLE_MINUTES": 30,  # signed out after this long without a request (cookie lifetime and server check)
        "SESSION_MAX_HOURS": 12,  # signed out this long after signing in, however active (a kept-alive copied cookie ends too)
        "SESSION_REFRESH_EACH_REQUEST": True,
        "FORCE_HSTS": False,  # send Strict-Transport-Security on plain-HTTP requests too (TLS ended by a proxy)
        "SIGN_IN_MAX_FAILURES": 10,  # wrong passwords or codes in a row for an account from one address (portal, CSC)
        "SIGN_IN_BLOCK_MINUTES": 15,  # ... then refused from that address this long; older failures are forgotten
        # Request limits (app/throttle.py): Flask-Limiter strings ("10 per minute"), per client address unless named
        "THROTTLE_ENABLED": True,  # False turns every limit off (the test suite does, except its throttling tests)
        "RATELIMIT_STORAGE_URI": "memory://",  # counts per process; a Redis URL (redis://host:6379/0) shares them
        "RATELIMIT_STRATEGY": "moving-window",  # counts over the last period, no double burst at a window's edge
        "THROTTLE_SIGN_IN_FAILURES": "30 per 10 minutes",  # wrong passwords or codes (portal, CSC auth/login) ...
        "THROTTLE_SIGN_IN_ACCOUNT_FAILURES": "50 per hour",  # ... and per login name or account, from every address
        "THROTTLE_FORGOT_PASSWORD": "5 per 15 minutes",  # "forgot password" requests ...
        "THROTTLE_FORGOT_PASSWORD_ACCOUNT": "3 per hour",  # ... and per login name typed, from every address
        "FORGOT_PASSWORD_ANSWER_SECONDS": 0.3,  # each "forgot password" answer takes this long, account or not
        "THROTTLE_OTP": "10 per hour",  # WhatsApp OTP requests (per account: OTP_RESEND_SECONDS, OTP_MAX_PER_HOUR)
        "THROTTLE_API_FAILURES": "20 per 10 minutes",  # wrong API Basic credentials, then 429 even for right ones ...
        "THROTTLE_API_CLIENT_FAILURES": "100 per hour",  # ... and per client id tried, from every address
        "THROTTLE_VERIFY": "30 per minute",  # PDFs checked on the public /verify page, per address
        "THROTTLE_API_VERIFY": "600 per minute",  # PDFs checked through /api/v2/verify/pdf, per API client
        "OTP_TTL_MINUTES": 15,
        "OTP_MAX_ATTEMPTS": 5,
        "OTP_RESEND_SECONDS": 60,
        "OTP_MAX_PER_HOUR": 5,
        "MAIL_SERVER": "localhost",
        "MAIL_PORT": 25,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": "",
        "MAIL_PASSWORD": "",
        "MAIL_FROM": "Paraf <no-reply@paraf.local>",
        "MAIL_TIMEOUT": 10,
        "WHATSAPP_GATEWAY_URL": "",
        "WHATSAPP_GATEWAY_TOKEN": "",
        "WHATSAPP_TIMEOUT": 10,
        # Tries of a message before it is given up on (it stays retrievable: `flask outbox retry`), and the longest
        # wait between two tries (30 s doubling up to this, jittered): 40 tries span more than 24 h of outage.
        "OUTBOX_MAX_ATTEMPTS": 40,
        "OUTBOX_BACKOFF_CAP_SECONDS": 3600,
        # /healthz: the oldest unsent message may be this old; a loop's heartbeat may be this many of its
        # intervals old, and at least HEALTH_LOOP_MIN_SECONDS (a pass may take a while: 50 messages to a slow server)
        "HEALTH_OUTBOX_MAX_AGE_MINUTES": 60,
        "HEALTH_LOOP_INTERVALS": 3,
        "HEALTH_LOOP_MIN_SECONDS": 120,
        "OUTBOX_PAGE": False,
        "REGISTRY_URL": "",
        "REGISTRY_TOKEN": "",
        "FACE_MATCH_THRESHOLD": 0.363,
        "EXPIRY_REMINDER_DAYS": [30, 7, 1],  # reminders before a certificate expires, once each
        "CERTIFICATE_SWEEP_SECONDS": 3600,  # how often `make run` runs `flask certificates sweep`
        "PASSPHRASE_RESET_TTL_HOURS": 24,  # life of a reset-passphrase link
        "DATA_CHANGE_TTL_HOURS": 72,  # life of a "Verifikasi Perubahan Data" link
        # Service clocks: working days Monday-Friday, WORKDAY_START-WORKDAY_END local time, minus public holidays
        "WORK_TIMEZONE": "Asia/Jakarta",
        "WORKDAY_START_HOUR": 8,
        "WORKDAY_END_HOUR": 16,
        "PUBLIC_HOLIDAYS": [],  # ISO dates; environment: comma-separated
        "MIGRATION_SLA_WORKING_DAYS": 2,  # "2x24 jam hari kerja": two working days of working time
        "REQUEST_LETTER_STEP_MINUTES": 15,  # service target of each disposition step
        "EVIDENCE_MAX_BYTES": 5 * 1024 * 1024,  # one reactivation document (PDF, JPEG or PNG)
        "API_MAX_BODY_BYTES": 50 * 1024 * 1024,  # one request to /api/ or /csc/ (base64 adds a third to the PDFs)
        "API_MAX_FILES": 10,  # PDFs in one /api/v2/sign/pdf call
        "API_V1_RETENTION_HOURS": 24,  # a PDF signed through /api/sign/pdf is downloadable this long, then deleted
        "CSC_TOKEN_MINUTES": 15,  # lifetime of a CSC access token
        "CSC_SAD_MINUTES": 5,  # lifetime of a CSC signature activation data (SAD)
        # Agency seals: an activation lasts this long from its custodian's code (never extended by a refresh); each
        # code (a custodian's, a sealing code) lives this long; a sealing code covers at most this many PDFs; this
        # many wrong codes in a row lock the seal until a custodian lifts the lock
        "SEAL_ACTIVATION_HOURS": 8,
        "SEAL_CODE_MINUTES": 10,
        "SEAL_MAX_DOCUMENTS_PER_CODE": 10,
        "SEAL_MAX_WRONG_CODES": 5,
    }


def _typed(value: str, like: object) -> object:
    """Convert an environment string to the type of the default it replaces."""
    if isinstance(like, bool):
        return value.strip().lower() in ("1", "true", "yes", "on")
    if isinstance(like, int):
        return int(value)
    if isinstance(like, list):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


def from_environment(instance: Path) -> dict:
    """Return the configuration values set in the environment, typed like their defaults."""
    base = defaults(instance)
    return {key: _typed(os.environ[name], base.get(key)) for name, key in ENVIRONMENT_KEYS.items() if os.environ.get(name)}


def configure(app: Flask, overrides: dict | None = None) -> None:
    """Load defaults, then ``instance/config.py``, then the environment, then ``overrides``."""
    instance = Path(app.instance_path)
    app.config.from_mapping(defaults(instance))
    given = {**read_config(instance), **from_environment(instance), **(overrides or {})}
    app.config.from_mapping(given)
    if "PERMANENT_SESSION_LIFETIME" not in given:  # the session cookie expires after the idle time
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"]))
    if str(app.config["PUBLIC_BASE_URL"]).lower().startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
