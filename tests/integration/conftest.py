"""Fixtures shared by the enrolment tests: an agency with its verifier, registered subscribers, the activation wizard."""

from tests.integration.test_enrolment_forms import agency, registered, verifier_client, wizard  # noqa: F401
