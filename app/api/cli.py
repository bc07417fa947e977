"""``flask clients create|list|disable``: integration API clients."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..domain.accounts import api_clients
from ..extensions import db
from ..platform.audit import Actor

clients_cli = AppGroup("clients", help="Integration API clients (/api/v2, HTTP Basic).")
ACTOR = Actor("cli")


@clients_cli.command("create")
@click.argument("name")
@click.option("--agency", "agencies", multiple=True, required=True, help="Agency code the client may act for (repeatable).")
def clients_create(name: str, agencies: tuple[str, ...]) -> None:
    """Create a client and print its id and secret (shown once only)."""
    try:
        client, credentials = api_clients.create(name, list(agencies), ACTOR)
    except api_clients.ClientError as exc:
        raise click.ClickException(str(exc)) from exc
    db.session.commit()
    click.echo(f"client:    {client.name}")
    click.echo(f"agencies:  {', '.join(agency.code for agency in client.agencies)}")
    click.echo(f"client id: {credentials.client_id}")
    click.echo(f"secret:    {credentials.secret}")
    click.echo("The secret is shown only now; Paraf keeps only its hash.")


@clients_cli.command("list")
def clients_list() -> None:
    """List the clients with their agencies, status and last use."""
    for client in api_clients.all_clients():
        status = "enabled" if client.enabled else f"disabled {client.disabled_at:%Y-%m-%d %H:%M}"
        used = f"{client.last_used_at:%Y-%m-%d %H:%M}" if client.last_used_at else "never"
        codes = ",".join(agency.code for agency in client.agencies)
        click.echo(f"{client.name}\t{client.client_id}\t{codes}\t{status}\tlast used {used}")


@clients_cli.command("disable")
@click.argument("name")
def clients_disable(name: str) -> None:
    """Disable a client: its credentials stop working at once."""
    client = api_clients.by_name(name)
    if client is None:
        raise click.ClickException(f"no client named {name!r}")
    changed = api_clients.disable(client, ACTOR)
    db.session.commit()
    click.echo(f"disabled {name}" if changed else f"{name} was already disabled")
