"""One-time codes for API signing: sent through the outbox (code sealed), checked together with the passphrase.

Paraf's keys open only with the subscriber's passphrase, so the code is a second factor, never a substitute:
it is single use and covers at most the number of documents asked for.
"""

from __future__ import annotations

from ..domain.enrolment import otp
from ..models import Account
from ..platform import notifications
from .errors import ApiError

PURPOSE = "api-sign"


def send(account: Account, documents: int, ttl_minutes: int) -> str:
    """Queue a new code for ``documents`` files to the verified phone (else the e-mail); return the channel used."""
    profile = account.profile
    phone = profile.phone if profile is not None and profile.phone_verified_at is not None else None
    destination = notifications.whatsapp_number(phone) if phone else account.email
    try:
        row, code = otp.issue(account.id, destination, PURPOSE)
    except otp.OtpThrottled as exc:
        raise ApiError("totp_throttled", seconds=exc.seconds_to_wait) from None
    row.allowance = documents
    context = {"minutes": ttl_minutes, "count": documents}
    links = {"code": code}  # sealed in the outbox row, wiped once sent
    if phone:
        notifications.whatsapp_message(destination, "api_sign_code", context, links, account_id=account.id,
                                       links_expire_at=row.expires_at)
        return "whatsapp"
    notifications.email_message(destination, "api_sign_code", context, links, account_id=account.id,
                                links_expire_at=row.expires_at)
    return "email"


def consume(account: Account, code: str, documents: int) -> None:
    """Accept the newest code once for ``documents`` files, or raise the matching :class:`ApiError`."""
    try:
        row = otp.check(account.id, str(code), PURPOSE)
    except otp.OtpWrong as exc:
        raise ApiError("totp_wrong", remaining=exc.remaining) from None
    except otp.OtpLocked:
        raise ApiError("totp_locked") from None
    except otp.OtpExpired:
        raise ApiError("totp_expired") from None
    except otp.OtpMissing:
        raise ApiError("totp_missing") from None
    if documents > (row.allowance or 1):
        raise ApiError("totp_count", allowed=row.allowance or 1)
