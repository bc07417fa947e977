"""``flask registry import population|asn FILE.csv``: load the local copies of the registries."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from .domain.enrolment import registries
from .domain.enrolment.identity import InvalidInput
from .extensions import db
from .platform import audit

registry_cli = AppGroup("registry", help="Local copies of the population and civil-service registries.")
import_cli = AppGroup("import", help="Import registry rows from a CSV file with a header row.")
registry_cli.add_command(import_cli)

CSV_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def finish(kind: str, path: Path, run) -> None:
    """Run an import, print its report, and commit once (exit 1 and store nothing if no row was accepted)."""
    try:
        report = run()
    except InvalidInput as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    for number, message in report.errors:
        click.echo(f"row {number}: {message}", err=True)
    click.echo(f"{kind}: {report.imported} imported, {report.updated} updated, {len(report.errors)} rejected")
    if report.accepted == 0:
        db.session.rollback()
        click.echo("nothing was imported", err=True)
        sys.exit(1)
    details = {"file": path.name, "imported": report.imported, "updated": report.updated}
    audit.record(
        audit.Actor("cli"), "registry.import", "registry", kind, details={**details, "rejected": len(report.errors)}
    )
    db.session.commit()


@import_cli.command("population")
@click.argument("path", type=CSV_FILE)
def import_population(path: Path) -> None:
    """Import population rows: nik,name,birth_date,gender[,photo] (photo: JPEG/PNG path relative to the CSV)."""
    finish("population", path, lambda: registries.import_population(path, Path(current_app.instance_path)))


@import_cli.command("asn")
@click.argument("path", type=CSV_FILE)
def import_asn(path: Path) -> None:
    """Import civil-servant rows: nip,nik,name,agency_code,unit,position,province."""
    finish("asn", path, lambda: registries.import_asn(path))
