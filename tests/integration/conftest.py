"""Fixtures shared by the enrolment tests: an agency with its verifier, registered subscribers, the activation wizard."""

# Integration API clients scoped to a subscriber's agency: see tests/api_helpers.py.
from tests.api_helpers import caller, make_caller  # noqa: F401,E402
from tests.integration.test_enrolment_forms import agency, registered, verifier_client, wizard  # noqa: F401

# Subscribers holding an ISSUE certificate (signing portal, verification): see tests/subscribers.py.
from tests.subscribers import make_subscriber_with_certificate, subscriber_with_certificate  # noqa: F401,E402
