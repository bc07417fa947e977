"""Hostile PDFs built in code: each small on disk and costly to open, validate or render without Paraf's bounds."""

from __future__ import annotations

import io
import struct
import zlib

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

MB = 1024 * 1024


def raw_pdf(objects: list[bytes]) -> bytes:
    """Return a PDF of ``objects`` (object 1 is the catalog) with a classic xref table."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _stream(data: bytes, extra: bytes = b"") -> bytes:
    return b"<< /Length %d %s>>\nstream\n%s\nendstream" % (len(data), extra, data)


def one_page(media_box: bytes = b"[0 0 595 842]", content: bytes = b"") -> bytes:
    """Return a one-page PDF with ``media_box`` and a content stream (already encoded, Flate if it starts so)."""
    flate = b"/Filter /FlateDecode " if content[:1] == b"\x78" else b""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox %s /Contents 4 0 R >>" % media_box,
        _stream(content, flate),
    ])


def many_pages(count: int = 100_000) -> bytes:
    """Return a PDF whose page tree names one page ``count`` times (about 600 KB for 100,000)."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join([b"3 0 R"] * count), count),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ])


def deflate_bomb(decoded: int = 1024 * MB) -> bytes:
    """Return a one-page PDF whose content stream is about ``decoded / 1000`` bytes of Flate inflating to ``decoded`` spaces.

    Flate blocks after a full flush do not refer back, so one compressed megabyte is repeated; the Adler-32 of the
    whole is worked out from the megabyte's.
    """
    chunk = b" " * MB
    compressor = zlib.compressobj(9)
    first = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(chunk) + compressor.flush(zlib.Z_FULL_FLUSH)
    adler = 1
    for _ in range(decoded // MB):
        adler = zlib.adler32(chunk, adler)
    stream = first + block * (decoded // MB - 1) + b"\x03\x00" + struct.pack(">I", adler)
    return one_page(content=stream)


def tall_page() -> bytes:
    """Return the 1 x 1000 pt page: cheap to store, a 360 x 360,000 pixel thumbnail if rendered 360 pixels wide."""
    return one_page(b"[0 0 1 1000]", b"0 0 1 1000 re f")


def huge_page() -> bytes:
    """Return a page far beyond PDF's 14,400 pt limit."""
    return one_page(b"[0 0 10000000 10000000]", b"0 0 10000000 10000000 re f")


def deep_nesting(depth: int = 100_000) -> bytes:
    """Return a PDF whose catalog holds arrays nested ``depth`` deep."""
    return raw_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Nest %s%s >>" % (b"[" * depth, b"]" * depth),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>",
    ])


def huge_xref_size() -> bytes:
    """Return a one-page PDF whose cross-reference stream claims 2,147,483,647 objects (/Size and /Index)."""
    out = io.BytesIO()
    out.write(b"%PDF-1.7\n")
    offsets = []
    for number, body in enumerate([b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                                   b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] >>"], start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    rows = b"\x00\x00\x00\x00\x00\xff" + b"".join(b"\x01" + offset.to_bytes(4, "big") + b"\x00" for offset in offsets)
    data = zlib.compress(rows)
    out.write(b"4 0 obj\n<< /Type /XRef /Size 2147483647 /Index [0 2147483647] /W [1 4 1] /Root 1 0 R /Length %d "
              b"/Filter /FlateDecode >>\nstream\n%s\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % (len(data), data, xref))
    return out.getvalue()


def fields_on_one_signature(signed: bytes, count: int = 400) -> bytes:
    """Return ``signed`` with ``count`` more signature fields, in one incremental update, all holding its signature."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    form = writer.root["/AcroForm"]
    fields = form["/Fields"]
    value = fields[0].raw_get("/V")
    page = writer.root["/Pages"]["/Kids"].raw_get(0)
    for number in range(count):
        fields.append(writer.add_object(generic.DictionaryObject({
            pdf_name("/FT"): pdf_name("/Sig"), pdf_name("/T"): generic.TextStringObject(f"Bomb{number}"),
            pdf_name("/V"): value, pdf_name("/Type"): pdf_name("/Annot"), pdf_name("/Subtype"): pdf_name("/Widget"),
            pdf_name("/Rect"): generic.ArrayObject([generic.NumberObject(0)] * 4), pdf_name("/P"): page,
        })))
    writer.update_container(fields)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def mapped_files() -> str:
    """Return the files mapped into the calling process: run in a sandbox child, which libraries the child loaded."""
    with open("/proc/self/maps") as maps:
        return maps.read()
