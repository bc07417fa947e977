"""Subscriber-facing enrolment: self-registration, the activation wizard and issuance."""

from .views import bp

__all__ = ["bp"]
