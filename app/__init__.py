"""Paraf web application."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask

from . import settings
from .extensions import csrf, db, migrate


def create_app(config: dict | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py``, then the environment, then ``config``."""
    instance = Path(config["INSTANCE_PATH"]) if config and "INSTANCE_PATH" in config else settings.instance_path()
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

    from . import cli, models  # noqa: F401  (models register their tables)
    from .services import pki

    pki.init_app(app)
    cli.init_app(app)

    from .health import bp as health_bp
    from .pki import bp as pki_bp

    app.register_blueprint(health_bp)
    app.register_blueprint(pki_bp)
    return app
