"""Registration request letters (F16, Kemhan SOP): recorded by the agency, passed along its disposition chain, exported.

Each step of the chain (e.g. Kepala Pusat → Kepala Bidang → Kepala Subbidang → Verifikator) has a
service target of ``REQUEST_LETTER_STEP_MINUTES`` (15) minutes. The SOP counts plain elapsed
minutes (wall clock), not office time, so the clock here does too. Steps are acted on in order
only; every letter and step is kept. Functions add/flush in the caller's transaction.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext
from sqlalchemy import or_, select

from ...extensions import db
from ...models import Agency, DispositionStep, RequestLetter
from ...models.types import utcnow
from ...platform.audit import Actor, record
from ..accounts import evidence
from ..errors import InputError

LETTER_AREA = "letters"
CHAIN_MAX_STEPS = 10
TITLE_MAX = 120
NOTE_MAX = 1000
PAGE_SIZE = 25
CSV_COLUMNS = ("nomor_surat", "tanggal_surat", "pengirim", "perihal", "pegawai_didaftarkan", "langkah", "jabatan",
               "mulai", "selesai", "oleh", "catatan", "menit", "tepat_waktu")


class LetterError(InputError):
    """Input about a letter that cannot be accepted; ``field`` names the form field to mark."""


@dataclass(frozen=True)
class LetterInput:
    """What is written on an incoming request letter."""

    number: str
    letter_date: date
    sender_unit: str
    subject: str
    persons: str


def target() -> timedelta:
    """Return the service target of one disposition step."""
    return timedelta(minutes=int(current_app.config["REQUEST_LETTER_STEP_MINUTES"]))


def chain_of(agency: Agency) -> list[str]:
    """Return the agency's disposition chain as a list of step titles."""
    return [title.strip() for title in (agency.disposition_chain or "").split(",") if title.strip()]


def clean_chain(text: str) -> str:
    """Return a disposition chain written as comma-separated titles, tidied; raise ``LetterError``."""
    titles = [" ".join(title.split()) for title in (text or "").split(",")]
    titles = [title for title in titles if title]
    if not titles:
        raise LetterError(gettext("Tuliskan minimal satu jabatan pada alur disposisi, dipisahkan koma."), "disposition_chain")
    if len(titles) > CHAIN_MAX_STEPS:
        raise LetterError(gettext("Alur disposisi paling banyak %(max)d langkah.", max=CHAIN_MAX_STEPS), "disposition_chain")
    if any(len(title) > TITLE_MAX for title in titles):
        raise LetterError(gettext("Nama jabatan paling panjang %(max)d karakter.", max=TITLE_MAX), "disposition_chain")
    return ", ".join(titles)


def update_settings(agency: Agency, requires: bool, chain: str, actor: Actor) -> None:
    """Set whether registrations need a letter and the chain new letters follow (letters already recorded keep theirs)."""
    agency.disposition_chain = clean_chain(chain)
    agency.requires_request_letter = bool(requires)
    db.session.flush()
    record(actor, "agency.request_letter_settings", "agency", agency.id,
           details={"requires_request_letter": agency.requires_request_letter, "chain": agency.disposition_chain})


def _text(raw: dict, key: str, label: str, limit: int) -> str:
    value = " ".join((raw.get(key) or "").split()) if key != "persons" else (raw.get(key) or "").strip()
    if not value:
        raise LetterError(gettext("Isi %(label)s.", label=label), key)
    if len(value) > limit:
        raise LetterError(gettext("%(label)s paling panjang %(max)d karakter.", label=label, max=limit), key)
    return value


def validate(raw: dict, today: date | None = None) -> LetterInput:
    """Check the letter form; raise ``LetterError`` on the first problem."""
    number = _text(raw, "number", gettext("nomor surat"), 100)
    try:
        letter_date = date.fromisoformat((raw.get("letter_date") or "").strip())
    except ValueError:
        raise LetterError(gettext("Isi tanggal surat (format TTTT-BB-HH)."), "letter_date") from None
    if letter_date > (today or datetime.now(ZoneInfo(current_app.config["WORK_TIMEZONE"])).date()):
        raise LetterError(gettext("Tanggal surat tidak boleh di masa depan."), "letter_date")
    return LetterInput(
        number=number, letter_date=letter_date,
        sender_unit=_text(raw, "sender_unit", gettext("unit pengirim"), 200),
        subject=_text(raw, "subject", gettext("perihal"), 300),
        persons=_text(raw, "persons", gettext("pegawai yang didaftarkan (nama atau jumlah)"), 2000),
    )


def record_letter(agency: Agency, data: LetterInput, actor: Actor, filename: str = "", pdf: bytes = b"",
                  now: datetime | None = None) -> RequestLetter:
    """Record an incoming letter (with its PDF scan, optional) and start its first disposition step.

    :raises LetterError: the PDF is refused (nothing is stored then).
    """
    now = now or utcnow()
    checked = None
    if pdf:
        try:
            checked = evidence.check(filename or "surat.pdf", pdf, allowed=(evidence.PDF,))
        except evidence.EvidenceRefused as exc:
            raise LetterError(str(exc), "file") from exc
    letter = RequestLetter(agency_id=agency.id, number=data.number, letter_date=data.letter_date, sender_unit=data.sender_unit,
                           subject=data.subject, persons=data.persons, recorded_by=actor.name, recorded_at=now)
    for position, title in enumerate(chain_of(agency) or [gettext("Verifikator")]):
        letter.steps.append(DispositionStep(position=position, title=title, started_at=now if position == 0 else None))
    if checked is not None:
        letter.filename = (filename or "surat.pdf").replace("/", "_").replace("\\", "_")[-200:]
        letter.stored_name = evidence.store(LETTER_AREA, agency.id, checked, pdf)
    db.session.add(letter)
    db.session.flush()
    record(actor, "letter.recorded", "request_letter", letter.id, details={"number": letter.number})
    return letter


def current_step(letter: RequestLetter) -> DispositionStep | None:
    """Return the step waiting for its holder, or None when the chain is complete."""
    return next((step for step in letter.steps if step.acted_at is None), None)


def act(letter: RequestLetter, step_id: int, note: str, actor: Actor, now: datetime | None = None) -> DispositionStep:
    """Pass the letter on from its current step ("Teruskan"), or finish the chain at the last step ("Selesai").

    :raises LetterError: the chain is complete, the step is not the current one, or the note is too long.
    """
    now = now or utcnow()
    step = current_step(letter)
    if step is None:
        raise LetterError(gettext("Disposisi surat ini sudah selesai."))
    if step.id != step_id:
        raise LetterError(gettext("Langkah itu bukan giliran sekarang; surat sedang di %(title)s.", title=step.title))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise LetterError(gettext("Catatan paling panjang %(max)d karakter.", max=NOTE_MAX), "note")
    step.acted_at, step.acted_by, step.note = now, actor.name, note or None
    following = next((other for other in letter.steps if other.position == step.position + 1), None)
    if following is not None:
        following.started_at = now
    else:
        letter.completed_at = now
    db.session.flush()
    record(actor, "letter.completed" if following is None else "letter.forwarded", "request_letter", letter.id,
           details={"step": step.position + 1, "title": step.title, "late": not on_time(step, now)})
    return step


def elapsed(step: DispositionStep, now: datetime | None = None) -> timedelta | None:
    """Return how long the step took (or has taken so far); None before it starts."""
    if step.started_at is None:
        return None
    return (step.acted_at or now or utcnow()) - step.started_at


def on_time(step: DispositionStep, now: datetime | None = None) -> bool | None:
    """Return True/False for a finished step, False for a running one already past its target, None otherwise."""
    spent = elapsed(step, now)
    if spent is None:
        return None
    if step.acted_at is None and spent <= target():
        return None
    return spent <= target()


def minutes(duration: timedelta | None) -> str:
    """Return a duration in whole minutes, or an empty string."""
    return "" if duration is None else str(int(duration.total_seconds() // 60))


def query(agency_id: int, q: str = "", state: str = "", date_from: date | None = None, date_to: date | None = None):
    """Return the agency's letters matching the filters, newest first."""
    statement = select(RequestLetter).where(RequestLetter.agency_id == agency_id)
    if q:
        like = f"%{q.lower()}%"
        statement = statement.where(or_(RequestLetter.number.ilike(like), RequestLetter.subject.ilike(like),
                                        RequestLetter.sender_unit.ilike(like), RequestLetter.persons.ilike(like)))
    if state == "berjalan":
        statement = statement.where(RequestLetter.completed_at.is_(None))
    elif state == "selesai":
        statement = statement.where(RequestLetter.completed_at.is_not(None))
    if date_from:
        statement = statement.where(RequestLetter.letter_date >= date_from)
    if date_to:
        statement = statement.where(RequestLetter.letter_date <= date_to)
    return statement.order_by(RequestLetter.id.desc())


def completed(agency: Agency) -> list[RequestLetter]:
    """Return the agency's letters whose disposition chain is complete, newest first."""
    return list(db.session.execute(query(agency.id, state="selesai")).scalars())


def required_letter(agency: Agency, raw_id: object) -> RequestLetter | None:
    """Return the completed letter a registration cites; None when the agency does not require one.

    :raises LetterError: the agency requires a letter and none (or one not completed) was chosen.
    """
    if not agency.requires_request_letter:
        return None
    text = str(raw_id or "").strip()
    letter = db.session.get(RequestLetter, int(text)) if text.isdigit() else None
    if letter is None or letter.agency_id != agency.id:
        raise LetterError(gettext("Instansi ini mewajibkan surat permohonan: pilih surat yang disposisinya sudah selesai."), "letter")
    if letter.completed_at is None:
        raise LetterError(gettext("Surat %(number)s belum selesai didisposisikan; pendaftaran menunggu sampai selesai.",
                                  number=letter.number), "letter")
    return letter


def _cell(value: object) -> str:
    """Return a CSV cell that spreadsheet programs will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _local(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(current_app.config["WORK_TIMEZONE"])).isoformat(sep=" ", timespec="seconds")


def export_csv(letters: list[RequestLetter], now: datetime | None = None) -> str:
    """Return one CSV row per disposition step of ``letters``, with its times and on-time flag."""
    now = now or utcnow()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for letter in letters:
        for step in letter.steps:
            flag = on_time(step, now)
            writer.writerow([_cell(v) for v in (
                letter.number, letter.letter_date.isoformat(), letter.sender_unit, letter.subject, letter.persons,
                step.position + 1, step.title, _local(step.started_at), _local(step.acted_at), step.acted_by or "",
                step.note or "", minutes(elapsed(step, now)), "" if flag is None else ("ya" if flag else "tidak"),
            )])
    return out.getvalue()


def pdf_path(letter: RequestLetter):
    """Return where the letter's PDF is stored, or None."""
    return evidence.path_of(LETTER_AREA, letter.agency_id, letter.stored_name) if letter.stored_name else None
