"""Paraf's signing core: HSM access, CA, subscriber keys, PDF signing and validation.

Nothing here imports Flask or SQLAlchemy; the web app reaches it through
``app/domain/keys.py``.
"""
