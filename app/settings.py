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
        "SIGNING_MAX_FILES": 20,  # PDFs in one signing batch
        "SIGNING_MAX_WRONG_PASSPHRASES": 5,  # in a row, then signing locks until a passphrase reset
        "SIGNING_UPLOAD_TTL_MINUTES": 60,  # unsigned uploads under instance/uploads/ are deleted after this
        "LOG_LEVEL": "INFO",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_IDLE_MINUTES": 30,  # signed out after this long without a request (cookie lifetime and server check)
        "SESSION_REFRESH_EACH_REQUEST": True,
        "SIGN_IN_MAX_FAILURES": 10,  # wrong passwords or authenticator codes in a row (portal and CSC) ...
        "SIGN_IN_BLOCK_MINUTES": 15,  # ... then sign-in is refused this long; failures older than this are forgotten
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
        "OUTBOX_MAX_ATTEMPTS": 8,
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
        "CSC_TOKEN_MINUTES": 15,  # lifetime of a CSC access token
        "CSC_SAD_MINUTES": 5,  # lifetime of a CSC signature activation data (SAD)
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
