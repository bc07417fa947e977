"""A throw-away Paraf instance for the benchmark scripts: temp folder, SoftHSM token, the app."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Flask

from app import create_app
from app.instance_setup import init_softhsm_token, read_config, write_config


def throwaway_app(prefix: str = "paraf-bench-") -> Flask:
    """Return an app on a new temp instance folder with its own SoftHSM token (schema and PKI not made yet)."""
    instance = Path(tempfile.mkdtemp(prefix=prefix))
    write_config(instance)
    secrets = read_config(instance)
    conf = instance / "softhsm" / "softhsm2.conf"
    init_softhsm_token(conf, "paraf", secrets["HSM_USER_PIN"], secrets["HSM_SO_PIN"])
    return create_app({"INSTANCE_PATH": str(instance), "SOFTHSM2_CONF": str(conf), "LOG_LEVEL": "WARNING"})
