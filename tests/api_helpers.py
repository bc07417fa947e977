"""Integration clients for the API tests: a subscriber with a certificate and a client scoped to their agency."""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import select

from app.domain.accounts import api_clients
from app.extensions import db
from app.models import Agency, SubscriberProfile
from app.platform.audit import Actor
from tests.subscribers import Subscriber, create_subscriber


@dataclass(frozen=True)
class ApiCaller:
    """A subscriber and the Basic headers of a client scoped to their agency."""

    subscriber: Subscriber
    nik: str
    headers: dict
    client_name: str


def basic(username: str, password: str) -> dict:
    """Return an HTTP Basic ``Authorization`` header."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def make_client(app: Flask, agency_ids: list[int], name: str | None = None) -> tuple[str, dict]:
    """Create a committed client scoped to these agencies; return its name and Basic headers."""
    name = name or f"app-{secrets.token_hex(4)}"
    with app.app_context():
        codes = [db.session.get(Agency, agency_id).code for agency_id in agency_ids]
        _client, credentials = api_clients.create(name, codes, Actor("test"))
        db.session.commit()
    return name, basic(credentials.client_id, credentials.secret)


def b64(data: bytes) -> str:
    """Return base64 text."""
    return base64.b64encode(data).decode("ascii")


@pytest.fixture()
def make_caller(app: Flask):
    """Return a factory: a new subscriber (own agency, ISSUE certificate) and a client scoped to that agency."""

    def make(**options) -> ApiCaller:
        subscriber = create_subscriber(app, **options)
        name, headers = make_client(app, [subscriber.agency_id])
        with app.app_context():
            nik = db.session.execute(select(SubscriberProfile.nik).where(SubscriberProfile.account_id == subscriber.id)).scalar_one()
        return ApiCaller(subscriber, nik, headers, name)

    return make


@pytest.fixture()
def caller(make_caller) -> ApiCaller:
    """Return a fresh subscriber with a client of their agency."""
    return make_caller()
