"""Fixtures shared by the integration tests, defined in the helper modules under ``tests/``."""

# Integration API clients scoped to a subscriber's agency: see tests/api_helpers.py.
from tests.api_helpers import caller, make_caller  # noqa: F401

# An agency with its verifier, registered people, the activation wizard: see tests/enrolment_helpers.py.
from tests.enrolment_helpers import agency, registered, verifier_client, wizard  # noqa: F401

# An issued agency seal with its custodians and allowed API client: see tests/seal_helpers.py.
from tests.seal_helpers import seal_case  # noqa: F401

# Subscribers holding an ISSUE certificate (signing portal, verification): see tests/subscribers.py.
from tests.subscribers import make_subscriber_with_certificate, subscriber_with_certificate  # noqa: F401
