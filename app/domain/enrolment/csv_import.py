"""CSV registration by a verifier: rows checked in chunks with progress and a per-row error report, then all registered or none."""

from __future__ import annotations

import csv
import io
import json
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask import current_app
from flask_babel import gettext

from ...extensions import db
from ...instance_setup import private_folder, write_private
from ...models import Agency
from ...platform.audit import Actor
from ..errors import InputError
from .registration import check_unique, register, validate_registration
from .request_letters import LetterError, required_letter

COLUMNS = ("name", "nik", "nip", "email", "phone")
CHUNK = 100
MAX_BYTES = 10 * 1024 * 1024
LINE, TOO_MANY = "_line", "_too_many"  # bookkeeping columns of the stored copy


@dataclass
class ImportJob:
    """Progress of one CSV import."""

    id: str
    agency_id: int
    owner_id: int
    total: int
    done: int = 0
    registered: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)
    letter: str = ""  # F16: the request letter every row cites, when the agency requires one

    @property
    def finished(self) -> bool:
        """Return whether every row was handled."""
        return self.done >= self.total

    @property
    def percent(self) -> int:
        """Return the share of rows handled, in percent."""
        return 100 if not self.total else int(100 * self.done / self.total)


def _folder() -> Path:
    return private_folder(Path(current_app.instance_path) / "imports")


def _save(job: ImportJob) -> None:
    write_private(_folder() / f"{job.id}.json", json.dumps(asdict(job)))


def _rows(job_id: str) -> list[dict]:
    text = (_folder() / f"{job_id}.csv").read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def start(agency_id: int, data: bytes, owner_id: int, letter: str = "") -> ImportJob:
    """Check the file's header and size (and the request letter, when required) and store it; rows are registered by :func:`step`."""
    try:
        required_letter(db.session.get(Agency, agency_id), letter)
    except LetterError as exc:
        raise InputError(str(exc), exc.field) from exc
    if not data:
        raise InputError(gettext("Pilih berkas CSV terlebih dahulu."), "file")
    if len(data) > MAX_BYTES:
        raise InputError(gettext("Berkas terlalu besar (maksimal 10 MB)."), "file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InputError(gettext("Berkas harus CSV berformat UTF-8."), "file") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip().lower() for name in (reader.fieldnames or [])]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise InputError(
            gettext(
                "Kolom berikut tidak ada di baris judul CSV: %(missing)s. Gunakan kolom: %(columns)s.",
                missing=", ".join(missing),
                columns=",".join(COLUMNS),
            ),
            "file",
        )
    job = ImportJob(id=secrets.token_urlsafe(12), agency_id=agency_id, owner_id=owner_id, total=sum(1 for _ in reader),
                    letter=str(letter or ""))
    normalised = io.StringIO()
    writer = csv.DictWriter(normalised, fieldnames=[*COLUMNS, LINE, TOO_MANY])
    writer.writeheader()
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        values = {name.strip().lower(): (value or "").strip() for name, value in row.items() if name is not None}
        # the file's own line number (blank lines count), and whether the row had more values than the header
        writer.writerow({**{column: values.get(column, "") for column in COLUMNS}, LINE: reader.line_num, TOO_MANY: int(None in row)})
    write_private(_folder() / f"{job.id}.csv", normalised.getvalue())
    _save(job)
    return job


def load(job_id: str) -> ImportJob | None:
    """Return a stored import job."""
    path = _folder() / f"{job_id}.json"
    if not job_id.replace("-", "").replace("_", "").isalnum() or not path.is_file():
        return None
    data = json.loads(path.read_text())
    data["errors"] = [tuple(item) for item in data["errors"]]
    return ImportJob(**data)


def step(job_id: str, agency: Agency, owner_id: int, actor: Actor) -> ImportJob | None:
    """Check the next chunk of rows; after the last one register every row in one transaction, or none if any is bad.

    All or nothing, so that a verifier fixes the reported rows and uploads the same file again without
    creating duplicates or half an agency; None if this is not this verifier's job.
    """
    job = load(job_id)
    if job is None or job.agency_id != agency.id or job.owner_id != owner_id:
        return None
    if job.finished:
        return job
    rows = _rows(job_id)
    seen: dict[tuple[str, str], str] = {}  # ("email" or "nik", value) -> the file line that has it first
    for index, row in enumerate(rows[: job.done + CHUNK]):
        if index >= job.done:  # the rows before were checked by earlier steps
            problem = _problem(row, job, agency, seen)
            if problem:
                job.errors.append((int(row[LINE]), problem))
        seen.setdefault(("email", row["email"].lower()), row[LINE])
        seen.setdefault(("nik", row["nik"]), row[LINE])
    job.done = min(job.total, job.done + CHUNK)
    if job.finished and not job.errors:
        _register_all(rows, job, agency, actor)
    _save(job)
    return job


def _problem(row: dict, job: ImportJob, agency: Agency, seen: dict[tuple[str, str], str]) -> str | None:
    """Return what is wrong with ``row``, checked against the database and the ``seen`` values of the rows before it."""
    if row.get(TOO_MANY) == "1":
        return gettext("Baris ini berisi lebih banyak nilai daripada kolom judul. Beri tanda kutip pada nilai yang memuat koma.")
    try:
        registration = validate_registration({**row, "letter": job.letter}, agency)
        check_unique(registration.email, registration.nik)
    except InputError as exc:
        return str(exc)
    if ("email", registration.email) in seen:
        return gettext("E-mail ini sudah ada di baris %(row)d.", row=int(seen["email", registration.email]))
    if ("nik", registration.nik) in seen:
        return gettext("NIK ini sudah ada di baris %(row)d.", row=int(seen["nik", registration.nik]))
    return None


def _register_all(rows: list[dict], job: ImportJob, agency: Agency, actor: Actor) -> None:
    """Register every row and commit; if one fails now (registered meanwhile elsewhere), roll all back and report it."""
    try:
        for row in rows:
            register(agency, validate_registration({**row, "letter": job.letter}, agency), actor)
    except InputError as exc:
        db.session.rollback()
        job.errors.append((int(row[LINE]), str(exc)))
        return
    db.session.commit()
    job.registered = len(rows)
