"""Sequential signing workflows (F7): an owner names signers 1..n; signer k signs only after 1..k-1.

``create`` stores the uploaded PDF with every signer's empty signature field added in ONE
incremental revision, so each later signature only fills a field that already exists (a
form-filling change, which keeps the earlier signatures valid in Adobe Reader and pdfsig).
``sign`` signs into the field of the signer whose turn it is, through
``signing.sign_documents``; ``decline`` stops the workflow with a reason. The workflow's
status moves only through ``lifecycle.apply``, guarded (compare-and-swap), so of two windows
signing or declining at once only one wins. Like every service, nothing here commits: the view
commits once (and must commit after :class:`signing.PassphraseWrong`, which counts the wrong try).

Pages are numbered from 1 here, in the database and on the pages; boxes are
``(x1, y1, x2, y2)`` in PDF points in the page's coordinate space.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import NamedTuple

from flask import current_app
from flask_babel import gettext
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import selectinload

from ... import lifecycle
from ...extensions import db
from ...instance_setup import private_folder, write_private
from ...lifecycle import CertificateStatus
from ...models import Account, Certificate, Role, SubscriberProfile, Workflow, WorkflowSigner, WorkflowStatus
from ...models.signing import public_id
from ...models.types import utcnow
from ...platform import notifications
from ...platform.audit import Actor
from ...urls import public_url
from .. import keys
from ..errors import InputError
from ..key_errors import DocumentUnusable
from . import signatures
from .signatures import Details, Placement, Upload

log = logging.getLogger(__name__)

Box = tuple[float, float, float, float]
MAX_SIGNERS = 10
MAX_TITLE = 200
MAX_REASON = 500
SEARCH_LIMIT = 10

# Preset stamp positions: rows counted from the bottom of the page, three columns.
ROWS = 4
COLUMNS = ("kiri", "tengah", "kanan")
POSITIONS = tuple(f"{row}-{column}" for row in range(1, ROWS + 1) for column in COLUMNS)
MARGIN, GAP, STAMP_HEIGHT = 36.0, 8.0, 66.0


class WorkflowError(InputError):
    """A workflow cannot be created or changed as asked; the message says what to fix."""


class NotYourTurn(WorkflowError):
    """The account is a signer, but an earlier signer has not signed yet."""

    status = 409


class SignerSpec(NamedTuple):
    """Signer k: the account, the page (from 1; None for the last page) and a box or a preset position name."""

    account: Account
    page: int | None
    box: Box | str


# --- positions -------------------------------------------------------------------------------


def position_label(name: str) -> str:
    """Return the label of a preset position, e.g. "Baris bawah, kiri"."""
    row, column = name.split("-", 1)
    columns = {"kiri": gettext("kiri"), "tengah": gettext("tengah"), "kanan": gettext("kanan")}
    rows = {
        "1": gettext("Baris paling bawah"),
        "2": gettext("Baris ke-2 dari bawah"),
        "3": gettext("Baris ke-3 dari bawah"),
        "4": gettext("Baris ke-4 dari bawah"),
    }
    return f"{rows[row]}, {columns[column]}"


def position_box(page_box: Box, name: str) -> Box:
    """Return the stamp box of a preset position on a page whose visible area is ``page_box``."""
    if name not in POSITIONS:
        raise ValueError(f"unknown position {name!r}")
    row, column = name.split("-", 1)
    x0, y0, x1, _y1 = page_box
    width = (x1 - x0 - 2 * MARGIN - (len(COLUMNS) - 1) * GAP) / len(COLUMNS)
    left = x0 + MARGIN + COLUMNS.index(column) * (width + GAP)
    bottom = y0 + MARGIN + (int(row) - 1) * (STAMP_HEIGHT + GAP)
    return (round(left, 2), round(bottom, 2), round(left + width, 2), round(bottom + STAMP_HEIGHT, 2))


def default_position(index: int) -> str:
    """Return the preset position suggested for the signer at ``index`` (0-based): left to right, bottom up."""
    return POSITIONS[index % len(POSITIONS)]


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# --- who may sign ----------------------------------------------------------------------------


def _has_issue_certificate():
    """SQL condition: the account holds an ISSUE certificate that has not expired."""
    return exists().where(
        Certificate.account_id == Account.id,
        Certificate.status == CertificateStatus.ISSUE,
        or_(Certificate.not_after.is_(None), Certificate.not_after > utcnow()),
    )


def search_signers(agency_id: int, q: str, limit: int = SEARCH_LIMIT) -> list[Account]:
    """Return subscribers of the agency holding an ISSUE certificate whose name, NIP or e-mail matches ``q``."""
    q = (q or "").strip()
    if len(q) < 2:
        return []
    like = "%" + q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = (
        select(Account)
        .outerjoin(SubscriberProfile)
        .where(Account.agency_id == agency_id, Account.role == Role.SUBSCRIBER, _has_issue_certificate())
        .where(or_(
            Account.name.ilike(like, escape="\\"),
            SubscriberProfile.name.ilike(like, escape="\\"),
            Account.email.ilike(like, escape="\\"),
            SubscriberProfile.nip.like(q.replace("%", "").replace("_", "") + "%"),
        ))
        .order_by(Account.name, Account.id)
        .limit(limit)
    )
    return list(db.session.execute(query).scalars())


def eligible_signer(agency_id: int, account_id: int) -> Account | None:
    """Return the account if it may be named as a signer by an owner of ``agency_id``, else None."""
    return db.session.execute(
        select(Account).where(
            Account.id == account_id, Account.agency_id == agency_id, Account.role == Role.SUBSCRIBER, _has_issue_certificate()
        )
    ).scalar_one_or_none()


def agency_account(agency_id: int, account_id: int) -> Account | None:
    """Return account ``account_id`` if it belongs to ``agency_id``, else None.

    The product rule: a workflow owner looks up, names and sees only accounts of their own agency; another
    agency's account is to them as if it did not exist (its name is never shown, not even in a refusal).
    """
    return db.session.execute(
        select(Account).where(Account.id == account_id, Account.agency_id == agency_id)
    ).scalar_one_or_none()


def _check_signer(owner: Account, number: int, account: Account) -> None:
    name = signatures.display_name(account)
    if account.role != Role.SUBSCRIBER or account.agency_id != owner.agency_id:
        raise WorkflowError(
            gettext("Penandatangan ke-%(k)d (%(name)s) bukan pengguna sertifikat di instansi Anda. Pilih pegawai instansi Anda sendiri.",
                    k=number, name=name),
            "signers",
        )
    if eligible_signer(owner.agency_id, account.id) is None:
        raise WorkflowError(
            gettext("Penandatangan ke-%(k)d (%(name)s) belum memiliki sertifikat elektronik yang aktif (ISSUE), jadi belum dapat menandatangani. Pilih orang lain.",
                    k=number, name=name),
            "signers",
        )


# --- files -----------------------------------------------------------------------------------


def folder() -> Path:
    """Return the folder under the instance where workflow PDFs are kept."""
    return private_folder(Path(current_app.instance_path) / "workflows")


def current_file(workflow: Workflow) -> Path:
    """Return the path of the workflow's current PDF (the original with its fields, or the latest signed revision)."""
    root = Path(current_app.instance_path).resolve()
    path = (root / workflow.current_path).resolve()
    if root not in path.parents:
        raise WorkflowError(gettext("Berkas alur tidak ditemukan."))
    return path


def download_name(workflow: Workflow) -> str:
    """Return the file name to download the current PDF under."""
    stem = workflow.filename[:-4] if workflow.filename.lower().endswith(".pdf") else workflow.filename
    if workflow.status == WorkflowStatus.COMPLETED:
        return f"{stem}-ditandatangani.pdf"
    return f"{stem}.pdf"


def _write(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    write_private(temporary, data)
    os.replace(temporary, path)


# --- reading a workflow ------------------------------------------------------------------------


def current_signer(workflow: Workflow) -> WorkflowSigner | None:
    """Return the signer whose turn it is (None when the workflow is completed or declined)."""
    if workflow.status != WorkflowStatus.ACTIVE:
        return None
    return next((s for s in workflow.signers if s.signed_at is None), None)


def signer_of(workflow: Workflow, account: Account) -> WorkflowSigner | None:
    """Return the account's place in the workflow, or None if it is not a signer."""
    return next((s for s in workflow.signers if s.account_id == account.id), None)


def involved(workflow: Workflow, account: Account) -> bool:
    """Return whether the account owns the workflow or is one of its signers."""
    return workflow.owner_id == account.id or signer_of(workflow, account) is not None


def signed_count(workflow: Workflow) -> int:
    """Return how many signers have signed."""
    return sum(1 for s in workflow.signers if s.signed_at is not None)


def get(public_id_: str) -> Workflow | None:
    """Return the workflow with this public id."""
    return db.session.execute(select(Workflow).where(Workflow.public_id == public_id_)).scalar_one_or_none()


def for_account(account: Account, before: int | None = None, limit: int = 25) -> list[Workflow]:
    """Return the workflows the account owns or signs in, newest first (keyset: ids below ``before``), one extra row."""
    mine = exists().where(WorkflowSigner.workflow_id == Workflow.id, WorkflowSigner.account_id == account.id)
    query = select(Workflow).where(or_(Workflow.owner_id == account.id, mine)).options(selectinload(Workflow.signers))
    if before:
        query = query.where(Workflow.id < before)
    return list(db.session.execute(query.order_by(Workflow.id.desc()).limit(limit + 1)).scalars())


def _name(account_id: int) -> str:
    account = db.session.get(Account, account_id)
    return signatures.display_name(account) if account else "?"


def _waiting_message(workflow: Workflow) -> str:
    waiting = current_signer(workflow)
    if waiting is None:
        return gettext("Alur ini tidak menunggu tanda tangan siapa pun.")
    return gettext("Belum giliran Anda: menunggu penandatangan ke-%(k)d (%(name)s).", k=waiting.position, name=_name(waiting.account_id))


def _closed_message(workflow: Workflow) -> str | None:
    if workflow.status == WorkflowStatus.COMPLETED:
        return gettext("Alur ini sudah selesai: semua penandatangan sudah menandatangani.")
    if workflow.status == WorkflowStatus.DECLINED:
        return gettext("Alur ini dihentikan karena seorang penandatangan menolak. Tidak ada tanda tangan lagi yang dapat dibubuhkan.")
    return None


def my_turn(workflow: Workflow, account: Account) -> WorkflowSigner:
    """Return the account's signer row if it is their turn now; else raise :class:`WorkflowError` saying why not."""
    closed = _closed_message(workflow)
    if closed:
        raise WorkflowError(closed)
    mine = signer_of(workflow, account)
    if mine is None:
        raise WorkflowError(gettext("Anda bukan penandatangan dalam alur ini."))
    if mine.signed_at is not None:
        raise WorkflowError(gettext("Anda sudah menandatangani dokumen ini."))
    if current_signer(workflow) is not mine:
        raise NotYourTurn(_waiting_message(workflow))
    return mine


# --- notifications -----------------------------------------------------------------------------


def _tell(account: Account, message: str, workflow: Workflow, **context) -> None:
    """Queue a message about ``workflow`` by e-mail (and WhatsApp when the number is verified) to an account."""
    context = {"name": signatures.display_name(account), "title": workflow.title,
               "link": public_url("workflows.detail", public_id=workflow.public_id), **context}
    notifications.email_message(account.email, message, context, account_id=account.id)
    profile = account.profile
    if profile is not None and profile.phone and profile.phone_verified_at is not None:
        try:
            notifications.whatsapp_message(profile.phone, message, context, account_id=account.id)
        except notifications.NotificationError:
            log.warning("workflow notice: account %s has an unusable WhatsApp number", account.id)


def _notify_turn(workflow: Workflow, signer: WorkflowSigner) -> None:
    account = db.session.get(Account, signer.account_id)
    owner = db.session.get(Account, workflow.owner_id)
    _tell(account, "workflow_turn", workflow, owner=signatures.display_name(owner), position=signer.position,
          total=len(workflow.signers))


def _notify_declined(workflow: Workflow, signer: WorkflowSigner, reason: str) -> None:
    owner = db.session.get(Account, workflow.owner_id)
    _tell(owner, "workflow_declined", workflow, signer=_name(signer.account_id), position=signer.position,
          total=len(workflow.signers), reason=reason)


def _notify_completed(workflow: Workflow) -> None:
    people = [workflow.owner_id] + [s.account_id for s in workflow.signers]
    for account_id in dict.fromkeys(people):
        _tell(db.session.get(Account, account_id), "workflow_completed", workflow, total=len(workflow.signers))


# --- changes -----------------------------------------------------------------------------------


def create(owner: Account, title: str, upload: Upload, signers: list[SignerSpec | tuple], actor: Actor) -> Workflow:
    """Start a workflow: validate, store the PDF with every signature field added in one revision, notify signer 1.

    ``signers`` are ``(account, page, box)`` in signing order: ``page`` from 1 (None: the last
    page) and ``box`` either ``(x1, y1, x2, y2)`` in PDF points or a name from :data:`POSITIONS`.

    :raises WorkflowError: the message says what to fix (``field`` names the form field).
    """
    title = " ".join((title or "").split())
    if not title:
        raise WorkflowError(gettext("Isi judul dokumen, misalnya \u201cNota Dinas Nomor 12/2026\u201d."), "title")
    if len(title) > MAX_TITLE:
        raise WorkflowError(gettext("Judul terlalu panjang (maksimal %(n)d karakter).", n=MAX_TITLE), "title")
    if owner.role != Role.SUBSCRIBER or owner.agency_id is None:
        raise WorkflowError(gettext("Hanya pengguna sertifikat yang terdaftar di sebuah instansi yang dapat membuat alur tanda tangan."))
    try:
        signatures.check_document(upload)
    except signatures.DocumentRefused as exc:
        raise WorkflowError(str(exc), "file") from None
    specs = [spec if isinstance(spec, SignerSpec) else SignerSpec(*spec) for spec in signers]
    if not specs:
        raise WorkflowError(gettext("Tambahkan minimal satu penandatangan."), "signers")
    if len(specs) > MAX_SIGNERS:
        raise WorkflowError(gettext("Paling banyak %(n)d penandatangan dalam satu alur.", n=MAX_SIGNERS), "signers")

    seen: dict[int, int] = {}
    for number, spec in enumerate(specs, start=1):
        if spec.account.id in seen:
            raise WorkflowError(
                gettext("%(name)s tercantum dua kali (penandatangan ke-%(a)d dan ke-%(b)d). Setiap orang hanya menandatangani sekali; hapus salah satunya.",
                        name=signatures.display_name(spec.account), a=seen[spec.account.id], b=number),
                "signers",
            )
        seen[spec.account.id] = number
        _check_signer(owner, number, spec.account)

    try:
        pages = keys.page_boxes(upload.data)
    except DocumentUnusable as exc:  # read in a sandbox: damaged, or over a bound (a page larger than PDF allows)
        raise WorkflowError(str(signatures.refused(upload.filename, exc)), "file") from None
    placed: list[tuple[int, Box]] = []
    for number, spec in enumerate(specs, start=1):
        page = len(pages) if spec.page is None else int(spec.page)
        if not 1 <= page <= len(pages):
            raise WorkflowError(
                gettext("Halaman %(page)d untuk penandatangan ke-%(k)d tidak ada: PDF ini hanya %(count)d halaman.",
                        page=page, k=number, count=len(pages)),
                "signers",
            )
        area = pages[page - 1]
        if isinstance(spec.box, str):
            if spec.box not in POSITIONS:
                raise WorkflowError(gettext("Pilih posisi tanda tangan untuk penandatangan ke-%(k)d.", k=number), "signers")
            box = position_box(area, spec.box)
        else:
            box = tuple(float(v) for v in spec.box)
        x1, y1, x2, y2 = box
        if not (x1 < x2 and y1 < y2 and area[0] <= x1 and area[1] <= y1 and x2 <= area[2] and y2 <= area[3]):
            raise WorkflowError(
                gettext("Kotak tanda tangan penandatangan ke-%(k)d tidak muat di halaman %(page)d. Pilih posisi lain atau halaman lain.",
                        k=number, page=page),
                "signers",
            )
        for other, (other_page, other_box) in enumerate(placed, start=1):
            if other_page == page and _overlap(box, other_box):
                raise WorkflowError(
                    gettext("Tanda tangan penandatangan ke-%(a)d dan ke-%(b)d bertumpuk di halaman %(page)d. Pilih posisi yang berbeda.",
                            a=other, b=number, page=page),
                    "signers",
                )
        placed.append((page, box))

    identifier = public_id()
    try:
        existing = keys.signature_field_names(upload.data)
    except DocumentUnusable:
        raise WorkflowError(gettext("Berkas %(name)s rusak dan tidak dapat dibaca. Simpan ulang sebagai PDF lalu unggah lagi.", name=upload.filename), "file") from None
    names = [f"Penandatangan{number}" for number in range(1, len(specs) + 1)]
    if any(name in existing for name in names):
        names = [f"{name}_{identifier[:8]}" for name in names]
    fields = [keys.SignatureField(name=name, page=page - 1, box=box) for name, (page, box) in zip(names, placed, strict=True)]
    try:
        prepared = keys.add_signature_fields(upload.data, fields)
    except DocumentUnusable:
        raise WorkflowError(gettext("Kolom tanda tangan tidak dapat ditambahkan ke %(name)s. Simpan ulang sebagai PDF lalu unggah lagi.", name=upload.filename), "file") from None

    filename = Path(upload.filename.replace("\\", "/")).name.strip() or "dokumen.pdf"
    stored = f"workflows/{identifier}.pdf"
    workflow = Workflow(
        public_id=identifier,
        owner_id=owner.id,
        agency_id=owner.agency_id,
        title=title,
        filename=filename[-255:],
        current_path=stored,
    )
    db.session.add(workflow)
    lifecycle.apply(workflow, "workflow", "create", actor,
                    details={"title": title, "signers": [spec.account.id for spec in specs], "pages": len(pages)})
    for number, (spec, name, (page, box)) in enumerate(zip(specs, names, placed, strict=True), start=1):
        db.session.add(WorkflowSigner(
            workflow_id=workflow.id, position=number, account_id=spec.account.id, field_name=name, page=page,
            box=",".join(f"{v:g}" for v in box),
        ))
    db.session.flush()
    db.session.refresh(workflow, ["signers"])
    _write(folder() / f"{identifier}.pdf", prepared)
    _notify_turn(workflow, workflow.signers[0])
    return workflow


def sign(workflow: Workflow, account: Account, passphrase: str, details: Details, actor: Actor) -> WorkflowSigner:
    """Sign the workflow's PDF into the account's field when it is their turn; notify the next signer or everyone.

    :raises WorkflowError: not the account's turn (:class:`NotYourTurn`), already signed, workflow closed.
    :raises signing.SigningRefused: the signing itself was refused; after :class:`signing.PassphraseWrong`
        and :class:`signing.SigningLocked` the caller must commit (the wrong try is counted).
    """
    mine = my_turn(workflow, account)
    data = current_file(workflow).read_bytes()
    [(document, _signed)] = signatures.sign_documents(
        account, passphrase, [Upload(workflow.filename, data)],
        Placement(page=mine.page - 1, field=mine.field_name), details, actor, workflow_id=workflow.id,
    )
    now = utcnow()
    claimed = db.session.execute(
        update(WorkflowSigner)
        .where(WorkflowSigner.id == mine.id, WorkflowSigner.signed_at.is_(None), WorkflowSigner.declined_at.is_(None))
        .values(signed_at=now, document_id=document.id)
    ).rowcount
    if claimed != 1:
        raise WorkflowError(gettext("Dokumen ini sudah ditandatangani atau ditolak di jendela lain. Muat ulang halaman."))
    following = next((s for s in workflow.signers if s.position > mine.position and s.signed_at is None), None)
    try:  # guarded: a decline or the last signature in another window may have closed the workflow meanwhile
        lifecycle.apply(workflow, "workflow", "sign", actor,
                        details={"position": mine.position, "document": document.public_id},
                        values={"current_path": document.stored_path}, guard=True)
        if following is None:
            lifecycle.apply(workflow, "workflow", "complete", actor, details={"signers": len(workflow.signers)},
                            values={"completed_at": now}, guard=True)
    except lifecycle.Stale:
        raise WorkflowError(gettext("Alur ini baru saja dihentikan atau diselesaikan. Muat ulang halaman.")) from None
    db.session.refresh(mine)
    if following is not None:
        _notify_turn(workflow, following)
    else:
        _notify_completed(workflow)
    return mine


def decline(workflow: Workflow, account: Account, reason: str, actor: Actor) -> WorkflowSigner:
    """Decline to sign when it is the account's turn: the workflow stops (DECLINED) and the owner is told why.

    :raises WorkflowError: no reason, or not the account's turn.
    """
    reason = " ".join((reason or "").split())
    if not reason:
        raise WorkflowError(gettext("Tulis alasan penolakan agar pemilik dokumen tahu apa yang harus diperbaiki."), "reason")
    if len(reason) > MAX_REASON:
        raise WorkflowError(gettext("Alasan terlalu panjang (maksimal %(n)d karakter).", n=MAX_REASON), "reason")
    mine = my_turn(workflow, account)
    now = utcnow()
    claimed = db.session.execute(
        update(WorkflowSigner)
        .where(WorkflowSigner.id == mine.id, WorkflowSigner.signed_at.is_(None), WorkflowSigner.declined_at.is_(None))
        .values(declined_at=now, decline_reason=reason)
    ).rowcount
    taken = gettext("Dokumen ini sudah ditandatangani atau ditolak di jendela lain. Muat ulang halaman.")
    if claimed != 1:
        raise WorkflowError(taken)
    try:  # guarded: the workflow may have been closed in another window meanwhile
        lifecycle.apply(workflow, "workflow", "decline", actor, reason, {"position": mine.position},
                        values={"decline_reason": reason}, guard=True)
    except lifecycle.Stale:
        raise WorkflowError(taken) from None
    db.session.refresh(mine)
    _notify_declined(workflow, mine, reason)
    return mine
