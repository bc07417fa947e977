"""Password hashing (argon2id at the ``PASSWORD_HASH_*`` settings' cost) and one-time passwords for new accounts."""

from __future__ import annotations

import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app


@lru_cache(maxsize=4)
def _hasher_of(time_cost: int, memory_kib: int, parallelism: int) -> tuple[PasswordHasher, str]:
    """Return a hasher of this cost and a real hash made with it, checked when the account does not exist."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)
    return hasher, hasher.hash(secrets.token_urlsafe(16))


def _hasher() -> tuple[PasswordHasher, str]:
    """Return the hasher of the app's configured cost and its stand-in hash."""
    config = current_app.config
    return _hasher_of(config["PASSWORD_HASH_TIME_COST"], config["PASSWORD_HASH_MEMORY_KIB"],
                      config["PASSWORD_HASH_PARALLELISM"])


def hash_password(password: str) -> str:
    """Return an argon2id hash of ``password``."""
    return _hasher()[0].hash(password)


def check_password(stored_hash: str | None, password: str) -> bool:
    """Return whether ``password`` matches; an absent hash costs the same time and fails.

    A stored hash is checked at the cost written in it, so hashes made before a change of cost still work.
    """
    hasher, stand_in = _hasher()
    try:
        return hasher.verify(stored_hash or stand_in, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def one_time_password() -> str:
    """Return a random password that is easy to type once (12 characters, no look-alikes)."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))
