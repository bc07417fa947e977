"""Paraf web application."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from flask import Flask, has_request_context, request, session
from flask_babel import get_locale, lazy_gettext

from . import settings
from .extensions import babel, csrf, db, htmx, login_manager, migrate
from .instance_setup import PRIVATE_UMASK, private_folder

LOCALES = ("id", "en")


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py``, then the environment, then ``config``."""
    instance = Path(config["INSTANCE_PATH"]) if config and "INSTANCE_PATH" in config else settings.instance_path()
    os.umask(PRIVATE_UMASK)  # what the process creates (the database included) is for Paraf's own user only
    private_folder(instance)
    app = Flask(
        __name__,
        instance_path=str(instance),
        template_folder=str(settings.REPO_ROOT / "templates"),
        static_folder=str(settings.REPO_ROOT / "static"),
    )
    settings.configure(app, config)
    logging.basicConfig(level=app.config["LOG_LEVEL"], format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    db.init_app(app)
    migrate.init_app(app, db, directory=str(settings.REPO_ROOT / "migrations"))
    csrf.init_app(app)
    htmx.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = lazy_gettext("Masuk terlebih dahulu untuk membuka halaman ini.")
    login_manager.localize_callback = str  # the lazy message, translated when it is flashed
    babel.init_app(app, locale_selector=select_locale, default_locale="id", default_timezone="Asia/Jakarta")
    app.jinja_env.globals["get_locale"] = get_locale

    from . import cli, errors, models, security_headers, throttle, web  # noqa: F401  (models register their tables)
    from .domain import keys

    keys.init_app(app)
    cli.init_app(app)
    errors.init_app(app)
    web.init_app(app)
    security_headers.init_app(app)
    throttle.init_app(app)

    from .admin import bp as admin_bp
    from .agency_head import bp as agency_head_bp
    from .api import bp as api_bp
    from .api.v1 import bp as api_v1_bp
    from .auth import bp as auth_bp
    from .certificates import bp as certificates_bp
    from .csc import bp as csc_bp
    from .enrolment import bp as enrolment_bp
    from .health import bp as health_bp
    from .outbox import bp as outbox_bp
    from .pki import bp as pki_bp
    from .profile import bp as profile_bp
    from .ra import bp as ra_bp
    from .seals import bp as seals_bp
    from .signing import bp as signing_bp
    from .verifier import bp as verifier_bp
    from .verify import bp as verify_bp
    from .workflows import bp as workflows_bp

    for blueprint in (health_bp, pki_bp, auth_bp, enrolment_bp, verifier_bp, signing_bp, verify_bp, workflows_bp,
                      certificates_bp, profile_bp, agency_head_bp, ra_bp, api_bp, api_v1_bp, csc_bp, admin_bp, outbox_bp,
                      seals_bp):
        app.register_blueprint(blueprint)
    return app


def select_locale() -> str:
    """Use Indonesian unless the visitor chose English with ``?lang=en`` (remembered in the session).

    Outside a request (CLI commands, workers, tests in an app context) messages are Indonesian.
    """
    if not has_request_context():
        return "id"
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen
    return session.get("lang", "id")
