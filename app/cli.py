"""Flask CLI commands of the operator contract: ``flask instance|pki|certificates|audit ...``."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import select

from .certificates_cli import sweep_loop
from .domain import keys
from .domain.certificates import after_issuance
from .domain.key_errors import KeyServiceUnavailable
from .extensions import db
from .instance_setup import init_softhsm_token, read_config, write_config
from .models import Certificate
from .platform import audit
from .settings import configure

instance_cli = AppGroup("instance", help="Set up the instance folder.")
pki_cli = AppGroup("pki", help="The CA hierarchy in the HSM.")
certificates_cli = AppGroup("certificates", help="Certificate housekeeping.")
audit_cli = AppGroup("audit", help="The audit trail.")


@instance_cli.command("init")
def instance_init() -> None:
    """Set up the instance on first run: secrets, SoftHSM token, database schema, CA hierarchy (idempotent)."""
    app = current_app._get_current_object()
    instance = Path(app.instance_path)
    if write_config(instance):
        click.echo(f"wrote {instance / 'config.py'} (new secrets and HSM PINs)")
        configure(app)
        keys.init_app(app)
    conf = Path(app.config["SOFTHSM2_CONF"])
    if conf.is_relative_to(instance) and "PKCS11_MODULE" not in os.environ:
        values = read_config(instance)
        label = app.config["HSM_TOKEN_LABEL"]
        if init_softhsm_token(conf, label, values["HSM_USER_PIN"], values["HSM_SO_PIN"]):
            click.echo(f"created SoftHSM token {label!r} under {conf.parent}")
    upgrade()
    if keys.init_pki():
        click.echo("created the CA hierarchy in the HSM")
    db.session.commit()


@pki_cli.command("init")
def pki_init() -> None:
    """Create root CA, issuing CA, OCSP and TSA keys and certificates in the HSM (refuses to overwrite)."""
    created = keys.init_pki()
    db.session.commit()
    if created:
        hierarchy = keys.context().hierarchy()
        for name, label in (("root", "paraf-root"), ("issuing", "paraf-issuing")):
            click.echo(f"{name}: {hierarchy.cert(label).subject.human_friendly}")
    else:
        click.echo("the CA hierarchy already exists in the HSM; its keys were left as they are")


@pki_cli.command("doctor")
def pki_doctor() -> None:
    """Try, on throwaway objects, the attacks the token's key protections must stop; exit 1 if an essential one fails."""
    config = current_app.config
    click.echo(f"module {config['PKCS11_MODULE']}, token {config['HSM_TOKEN_LABEL']!r}")
    try:
        checks = keys.key_protections()
    except KeyServiceUnavailable as exc:
        raise click.ClickException(f"the HSM cannot be probed: {exc.__cause__}") from exc
    for check in checks:
        mark = "ok" if check.holds else ("FAIL" if check.essential else "no")
        click.echo(f"{mark:<5}{check.name}: {check.detail}")
    if any(check.essential and not check.holds for check in checks):
        sys.exit(1)


@pki_cli.command("revoke")
@click.argument("serial")
@click.option("--reason", default="unspecified", show_default=True, help="RFC 5280 reason, e.g. key_compromise")
def pki_revoke(serial: str, reason: str) -> None:
    """Revoke a certificate by its hexadecimal serial number and re-sign the CRL."""
    row = db.session.execute(select(Certificate).where(Certificate.serial == serial.lower().lstrip("0"))).scalar_one_or_none()
    if row is None:
        raise click.ClickException(f"no certificate with serial {serial}")
    try:
        keys.revoke(row, reason, audit.Actor("cli"))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"revoked {row.serial} ({reason})")


@certificates_cli.command("sweep")
@click.option("--loop", "forever", is_flag=True, help="Keep sweeping until SIGTERM or SIGINT.")
@click.option("--interval", default=3600.0, show_default=True, type=click.FloatRange(min=0.05), help="Seconds between sweeps.")
def certificates_sweep(forever: bool, interval: float) -> None:
    """Mark expired certificates, send expiry reminders (once each), re-sign stale CRLs, delete expired v1 documents."""
    if not forever:
        result = after_issuance.sweep()
        db.session.commit()
        click.echo(f"sweep: expired {result.expired}, reminded {result.reminded}, re-signed CRLs {', '.join(result.crls) or '-'}, "
                   f"deleted {result.documents} kept documents")
        return
    click.echo(f"certificate sweep started (every {interval:g} s); stop with SIGTERM or Ctrl-C")
    sweep_loop(interval)
    click.echo("certificate sweep stopped")


@audit_cli.command("verify")
@click.argument("checkpoints", nargs=-1, type=click.Path(exists=True, path_type=Path))
def audit_verify(checkpoints: tuple[Path, ...]) -> None:
    """Check the audit chain with the HSM key, and that each checkpoint (file or folder) is still in it."""
    try:
        problems = audit.verify(audit.read_checkpoints(checkpoints))
    except (ValueError, KeyError) as exc:
        raise click.ClickException(f"cannot read the checkpoints: {exc}") from exc
    except KeyServiceUnavailable as exc:
        raise click.ClickException(f"the HSM cannot check the audit chain: {exc.__cause__}") from exc
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        sys.exit(1)
    click.echo("audit chain intact")


@audit_cli.command("checkpoint")
def audit_checkpoint() -> None:
    """Time-stamp the audit chain's newest event into the instance folder; keep a copy away from the server."""
    try:
        point, path = audit.checkpoint(Path(current_app.instance_path) / "audit-checkpoints")
    except LookupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"checkpoint of event {point['event']} (sequence {point['seq']}, hash {point['hash']}) at {point['at']}")
    click.echo(f"wrote {path} and {path.with_suffix('.tsr')}")


def init_app(app: Flask) -> None:
    """Register the command groups."""
    from .demo import demo_cli
    from .outbox_cli import outbox_cli

    for group in (instance_cli, pki_cli, certificates_cli, audit_cli, outbox_cli, demo_cli):
        app.cli.add_command(group)
    from .registry_cli import registry_cli; app.cli.add_command(registry_cli)  # noqa: E702, I001
    from .api.cli import clients_cli; app.cli.add_command(clients_cli)  # noqa: E702, I001
    from .loops_cli import loops_cli; app.cli.add_command(loops_cli)  # noqa: E702, I001
