"""The authorisation table of the route × role matrix (tests/integration/test_route_matrix.py), keyed by endpoint.

Each entry lists ``role=answer`` items (or, when the methods differ, one such string per method); ``guest``
stands for the anonymous visitor and the API client (not signed in to the portal), ``verifier`` for both
verifiers (of A and of B) and ``*`` for every role not named. An answer ``own/other`` differs by the object in
the URL: of the role's own agency, or of the other one (roles of no agency count agency A as their own).
Answers:

``ok``       2xx
``redirect`` 3xx to somewhere other than the login page (e.g. "upload it again" for a batch not in the session)
``login``    3xx to the login page
``refused``  400, 409, 413, 422 or 429: the view ran and refused the (empty) request
``401``, ``403``, ``404``, ``405``, ``410``  those statuses
"""

from __future__ import annotations

ROLES = ("anonymous", "subscriber", "verifier_a", "verifier_b", "agency_head", "central_ra", "admin", "api_client")
GROUPS = {"guest": ("anonymous", "api_client"), "verifier": ("verifier_a", "verifier_b")}
REFUSED = {400, 409, 413, 422, 429}

TABLE: dict[str, str | dict[str, str]] = {
    "admin.clients": "guest=login admin=ok *=403",
    "admin.disable": "guest=login admin=ok *=403",
    "agency_head.form": "guest=login agency_head=ok/404 *=403",
    "agency_head.form_pdf": "guest=login agency_head=ok/404 *=403",
    "agency_head.index": "guest=login agency_head=ok *=403",
    "agency_head.sign": "guest=login agency_head=refused/404 *=403",
    "api.certificate_chain": "api_client=ok/404 *=401",
    "api.docs": "*=ok",
    "api.openapi": "*=ok",
    "api.seal_activation": "api_client=refused *=401",
    "api.seal_end_activation": "api_client=refused *=401",
    "api.seal_pdf": "api_client=refused *=401",
    "api.seal_totp": "api_client=refused *=401",
    "api.sign_pdf": "api_client=refused *=401",
    "api.sign_totp": "api_client=refused *=401",
    "api.user_register": "api_client=refused *=401",
    "api.user_status": "api_client=refused *=401",
    "api.verify_pdf": "api_client=refused *=401",
    "api_v1.download": "api_client=404 *=401",
    "api_v1.sign_pdf": "api_client=refused *=401",
    "api_v1.user_status": "api_client=ok *=401",
    "api_v1.verify": "api_client=refused *=401",
    "auth.add_device": {
        "GET": "guest=login *=ok",
        "POST": "guest=login *=refused",
    },
    "auth.change_password": {
        "GET": "guest=login *=ok",
        "POST": "guest=login *=refused",
    },
    "auth.devices": "guest=login *=ok",
    "auth.forgot_password": "*=ok",
    "auth.login": {
        "GET": "guest=ok *=redirect",
        "POST": "guest=401 *=redirect",
    },
    "auth.login_code": "*=login",
    "auth.login_setup": "*=login",
    "auth.logout": "*=login",
    "auth.remove_device": "guest=login *=404",
    "auth.reset_authenticator": "*=410",
    "auth.reset_password": "*=410",
    "certificates.change": {
        "GET": "guest=login subscriber=ok *=403",
        "POST": "guest=login subscriber=refused *=403",
    },
    "certificates.index": "guest=login subscriber=ok *=403",
    "certificates.renewal": {
        "GET": "guest=login subscriber=ok *=403",
        "POST": "guest=login subscriber=refused *=403",
    },
    "certificates.reset_page": "*=403",
    "certificates.reset_request": "guest=login subscriber=ok *=403",
    "certificates.reset_selfie": "*=403",
    "certificates.reset_start": "*=410",
    "certificates.reset_submit": "*=403",
    "certificates.revoke": {
        "GET": "guest=login subscriber=ok *=403",
        "POST": "guest=login subscriber=refused *=403",
    },
    "certificates.send_code": "guest=login subscriber=refused *=403",
    "certificates.verify_code": "guest=login subscriber=refused *=403",
    "csc.credentials_authorize": "api_client=refused *=401",
    "csc.credentials_info": "api_client=refused *=401",
    "csc.credentials_list": "api_client=ok *=401",
    "csc.info": "*=ok",
    "csc.login": "*=401",
    "csc.openapi": "*=ok",
    "csc.sign_hash": "api_client=refused *=401",
    "enrolment.activate": "*=410",
    "enrolment.home": "*=ok",
    "enrolment.issue_page": "*=403",
    "enrolment.issue_selfie": "*=403",
    "enrolment.issue_start": "*=410",
    "enrolment.issue_submit": "*=403",
    "enrolment.save_personal": "*=403",
    "enrolment.save_selfie": "*=403",
    "enrolment.save_service": "*=403",
    "enrolment.self_register": {
        "GET": "*=ok",
        "POST": "*=refused",
    },
    "enrolment.send_code": "*=403",
    "enrolment.status": "guest=login *=ok",
    "enrolment.submit": "*=403",
    "enrolment.verify_code": "*=403",
    "enrolment.wizard": "*=403",
    "health.healthz": "*=ok",
    "outbox.index": "*=404",
    "pki.certificate": "*=ok",
    "pki.crl": "*=ok",
    "pki.tsa": "*=ok",
    "profile.confirm": "*=410",
    "profile.confirm_submit": "*=410",
    "profile.profile": {
        "GET": "guest=login subscriber=ok *=403",
        "POST": "guest=login subscriber=refused *=403",
    },
    "ra.approve": "guest=login central_ra=refused admin=refused *=403",
    "ra.approve_reactivation": "guest=login central_ra=refused admin=refused *=403",
    "ra.index": "guest=login central_ra=ok admin=ok *=403",
    "ra.letter_settings": "guest=login central_ra=ok admin=ok *=403",
    "ra.reject": "guest=login central_ra=refused admin=refused *=403",
    "ra.resend_reset": "guest=login central_ra=refused admin=refused *=403",
    "ra.return_reactivation": "guest=login central_ra=refused admin=refused *=403",
    "ra.save_letter_settings": "guest=login central_ra=refused admin=refused *=403",
    "ra.signed_form": "guest=login central_ra=404 admin=404 *=403",
    "ra.suspend": "guest=login central_ra=refused admin=refused *=403",
    "ra.suspensions_page": "guest=login central_ra=ok admin=ok *=403",
    "ra.ticket": "guest=login central_ra=ok admin=ok *=403",
    "ra.tickets": "guest=login central_ra=ok admin=ok *=403",
    "seals.approve": "guest=login central_ra=refused admin=refused *=403",
    "seals.confirm": "guest=login agency_head=refused/404 *=403",
    "seals.decline": "guest=login agency_head=refused/404 *=403",
    "seals.detail": "guest=login agency_head=ok/404 verifier=ok/404 *=403",
    "seals.end_activation": "guest=login agency_head=404 verifier=404 *=403",
    "seals.index": "guest=login agency_head=ok verifier=ok *=403",
    "seals.ra_requests": "guest=login central_ra=ok admin=ok *=403",
    "seals.reject": "guest=login central_ra=refused admin=refused *=403",
    "seals.request_seal": "guest=login agency_head=refused verifier=refused *=403",
    "seals.revoke": "guest=login agency_head=refused/404 *=403",
    "signing.download": "guest=login subscriber=ok/404 *=403",
    "signing.history": "guest=login subscriber=ok *=403",
    "signing.place": "guest=login subscriber=ok/redirect *=403",
    "signing.results": "guest=login subscriber=ok/404 *=403",
    "signing.results_zip": "guest=login subscriber=ok/404 *=403",
    "signing.sign": "guest=login subscriber=refused/redirect *=403",
    "signing.thumbnail": "guest=login subscriber=ok/404 *=403",
    "signing.upload": {
        "GET": "guest=login subscriber=ok *=403",
        "POST": "guest=login subscriber=refused *=403",
    },
    "static": "*=ok",
    "verifier.approve": "subscriber=403 verifier=refused/404 agency_head=403 central_ra=refused admin=refused *=login",
    "verifier.cancel_data_change": "subscriber=403 verifier=redirect/404 agency_head=403 central_ra=redirect admin=redirect *=login",
    "verifier.data_change": {
        "GET": "subscriber=403 verifier=ok/404 agency_head=403 central_ra=ok admin=ok *=login",
        "POST": "subscriber=403 verifier=refused/404 agency_head=403 central_ra=refused admin=refused *=login",
    },
    "verifier.data_change_list": "guest=login subscriber=403 agency_head=403 *=ok",
    "verifier.data_change_pdf": "subscriber=403 verifier=ok/404 agency_head=403 central_ra=ok admin=ok *=login",
    "verifier.detail": "subscriber=403 verifier=ok/404 agency_head=403 central_ra=ok admin=ok *=login",
    "verifier.import_csv": {
        "GET": "guest=login verifier=ok *=403",
        "POST": "guest=login verifier=refused *=403",
    },
    "verifier.import_step": "guest=login verifier=ok/404 *=403",
    "verifier.legalise_reactivation": "subscriber=403 verifier=refused/404 agency_head=403 central_ra=refused admin=refused *=login",
    "verifier.letter": "subscriber=403 verifier=ok/404 agency_head=403 central_ra=404 admin=404 *=login",
    "verifier.letter_file": "guest=login subscriber=403 agency_head=403 *=404",
    "verifier.letter_step": "subscriber=403 verifier=redirect/404 agency_head=403 central_ra=404 admin=404 *=login",
    "verifier.letters": "guest=login verifier=ok *=403",
    "verifier.letters_csv": "guest=login verifier=ok *=403",
    "verifier.migration": {
        "GET": "subscriber=403 verifier=ok/404 agency_head=403 central_ra=ok admin=ok *=login",
        "POST": "subscriber=403 verifier=refused/404 agency_head=403 central_ra=refused admin=refused *=login",
    },
    "verifier.new_letter": {
        "GET": "guest=login verifier=ok *=403",
        "POST": "guest=login verifier=refused *=403",
    },
    "verifier.queue": "guest=login subscriber=403 agency_head=403 *=ok",
    "verifier.reactivation_document": "subscriber=403 verifier=ok/404 agency_head=403 central_ra=ok admin=ok *=login",
    "verifier.register": {
        "GET": "guest=login verifier=ok *=403",
        "POST": "guest=login verifier=refused *=403",
    },
    "verifier.registry_photo": "guest=login subscriber=403 agency_head=403 *=404",
    "verifier.reject": "subscriber=403 verifier=refused/404 agency_head=403 central_ra=refused admin=refused *=login",
    "verifier.resend": "subscriber=403 verifier=refused/404 agency_head=403 central_ra=refused admin=refused *=login",
    "verifier.resend_data_change": "subscriber=403 verifier=redirect/404 agency_head=403 central_ra=redirect admin=redirect *=login",
    "verifier.revoke_certificate": "subscriber=403 verifier=redirect/404 agency_head=403 central_ra=redirect admin=redirect *=login",
    "verifier.selfie": "guest=login subscriber=403 agency_head=403 *=404",
    "verifier.send_renewal": "subscriber=403 verifier=redirect/404 agency_head=403 central_ra=redirect admin=redirect *=login",
    "verifier.send_reset": "subscriber=403 verifier=redirect/404 agency_head=403 central_ra=redirect admin=redirect *=login",
    "verifier.upload_reactivation_document": "subscriber=403 verifier=refused/404 agency_head=403 central_ra=refused admin=refused *=login",
    "verify.document": "subscriber=ok/404 *=404",
    "verify.record": "*=ok",
    "verify.upload": {
        "GET": "*=ok",
        "POST": "*=refused",
    },
    "workflows.create": {
        "GET": "guest=login subscriber=ok *=403",
        "POST": "guest=login subscriber=refused *=403",
    },
    "workflows.decline": "guest=login subscriber=refused/404 *=403",
    "workflows.detail": "guest=login subscriber=ok/404 *=403",
    "workflows.document": "guest=login subscriber=ok/404 *=403",
    "workflows.index": "guest=login subscriber=ok *=403",
    "workflows.search": "guest=login subscriber=ok *=403",
    "workflows.sign": "guest=login subscriber=refused/404 *=403",
    "workflows.signer_row": "guest=login subscriber=404 *=403",
}


def answer_class(response) -> str:
    """Return the class of a response (see the module's docstring); ``5xx`` and other statuses are never expected."""
    status = response.status_code
    if 300 <= status < 400:
        return "login" if response.headers.get("Location", "").split("?")[0].endswith("/login") else "redirect"
    if status < 300:
        return "ok"
    if status in REFUSED:
        return "refused"
    return str(status)


def expected(endpoint: str, method: str, role: str, which: str) -> str:
    """Return the answer class the table gives ``role`` on ``method endpoint`` for an object of ``which`` ("own"/"other")."""
    entry = TABLE[endpoint]
    items = dict(item.split("=", 1) for item in (entry if isinstance(entry, str) else entry[method]).split())
    named = {member: value for name, value in items.items() for member in GROUPS.get(name, (name,))}
    answer = named.get(role, items.get("*"))
    if answer is None:
        raise KeyError(f"{endpoint}: the authorisation table gives no answer for {role}")
    own, _, other = answer.partition("/")
    return other if which == "other" and other else own
