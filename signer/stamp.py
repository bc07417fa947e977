"""Visible-signature stamps: signer lines, a QR code and an optional image, in an embedded TrueType font.

The stamp is a pyHanko stamp style, so pyHanko draws it as the appearance of
the signature widget at signing time. Text is shaped with HarfBuzz from the
configured font (DejaVu Sans by default) and embedded as a subset, which keeps
names with diacritics readable and extractable. Each font is cut down once per process to the Latin
scripts and punctuation (a sixth of DejaVu's glyphs), so reading and subsetting it per stamp is cheap; a
stamp with a character outside that uses the whole font. Lines are wrapped
to the text column and the whole block is shrunk, then truncated, until it
fits the box.
"""

from __future__ import annotations

import functools
import io
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import qrcode
import uharfbuzz as hb
from fontTools import subset, ttLib
from PIL import Image, UnidentifiedImageError
from pyhanko.pdf_utils import generic, layout
from pyhanko.pdf_utils.content import ResourceType
from pyhanko.pdf_utils.font.api import FontEngineFactory
from pyhanko.pdf_utils.font.opentype import GlyphAccumulator
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.images import pil_image
from pyhanko.pdf_utils.qr import PdfStreamQRImage
from pyhanko.pdf_utils.writer import BasePdfFileWriter, init_xobject_dictionary
from pyhanko.stamp import BaseStamp, TextStampStyle

from .errors import AppearanceError

DEFAULT_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
DEFAULT_BOLD_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
# pyHanko hands the signing time to text stamps as a formatted string; this format round-trips.
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S%z"
MAX_IMAGE_PIXELS = 16_000_000
MAX_IMAGE_SIDE = 800
ELLIPSIS = "\u2026"

RGB = tuple[float, float, float]


@dataclass(frozen=True)
class StampStyle:
    """How a visible signature looks: fonts, sizes, colours, wording and display time zone.

    The wording (``statement`` under the date, ``date_label``) and the zone are the application's to give; the
    defaults are a bare English stamp in UTC.
    """

    font_path: str = DEFAULT_FONT
    bold_font_path: str | None = DEFAULT_BOLD_FONT
    statement: str = ""
    date_label: str = "Date"
    time_format: str = "%d-%m-%Y %H:%M:%S"
    utc_offset_minutes: int = 0
    zone_label: str = "UTC"
    name_size: float = 9.0
    text_size: float = 7.0
    statement_size: float = 6.0
    min_scale: float = 0.5
    max_scale: float = 1.5
    nowrap_min_scale: float = 0.75
    line_spacing: float = 1.18
    padding: float = 4.0
    qr_share: float = 0.38
    image_share: float = 0.28
    border_width: float = 0.8
    border_color: RGB = (0.15, 0.25, 0.45)
    text_color: RGB = (0.0, 0.0, 0.0)
    background: RGB | None = (1.0, 1.0, 1.0)

    def display_time(self, moment: datetime) -> str:
        """Format a moment in the configured zone, e.g. ``25-11-2025 21:44:03 WIB`` for UTC+7 labelled ``WIB``."""
        zone = timezone(timedelta(minutes=self.utc_offset_minutes), self.zone_label)
        return f"{moment.astimezone(zone).strftime(self.time_format)} {self.zone_label}".strip()


DEFAULT_STAMP_STYLE = StampStyle()


@dataclass(frozen=True)
class Stamp:
    """What a visible signature shows: signer name, position, QR target URL and an optional PNG/JPEG image."""

    name: str
    position: str = ""
    qr_url: str | None = None
    image: bytes | None = field(default=None, repr=False)


# Tables HarfBuzz needs for shaping but the embedded subset does not; fontTools is slow to load them.
_SHAPING_ONLY_TABLES = ("GPOS", "GSUB", "GDEF", "kern", "MATH", "JSTF", "BASE", "FFTM")
# What the cut-down stamp font keeps: Basic Latin, Latin-1, Latin Extended-A/B and Additional, punctuation, currency.
LATIN = frozenset((*range(0x20, 0x7F), *range(0xA0, 0x250), *range(0x1E00, 0x1F00), *range(0x2000, 0x2070),
                   *range(0x20A0, 0x20D0)))


@dataclass(frozen=True)
class _FontData:
    """A font's bytes for shaping, a copy without shaping tables (same glyph ids) for subsetting, and its characters."""

    original: bytes
    for_subset: bytes
    characters: frozenset[int]


def _save(font: ttLib.TTFont) -> bytes:
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@functools.lru_cache(maxsize=16)
def _font_data(path: str, latin: bool = False) -> _FontData:
    """Return the font at ``path``, cut down to :data:`LATIN` when ``latin`` (read and cut once per process)."""
    try:
        with open(path, "rb") as handle:
            font = ttLib.TTFont(io.BytesIO(handle.read()))
        if "FFTM" in font:
            del font["FFTM"]  # a FontForge timestamp fontTools cannot subset
        if latin:
            options = subset.Options(layout_features=["*"], glyph_names=True, notdef_outline=True, name_IDs=["*"],
                                     name_languages=["*"], hinting=False, legacy_kern=True, ignore_missing_unicodes=True)
            subsetter = subset.Subsetter(options)
            subsetter.populate(unicodes=LATIN)
            subsetter.subset(font)
        original = _save(font)
        characters = frozenset(font.getBestCmap() or ())
        for tag in _SHAPING_ONLY_TABLES:
            if tag in font:
                del font[tag]
        for_subset = _save(font)
    except (OSError, ttLib.TTLibError, AssertionError) as exc:
        raise AppearanceError(f"cannot read the stamp font {path}") from exc
    return _FontData(original=original, for_subset=for_subset, characters=characters)


class _Subsets:
    """The font programs embedded lately, by font and set of glyphs: a repeated stamp skips subsetting."""

    def __init__(self, size: int = 256):
        self._items: OrderedDict[tuple, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: tuple) -> bytes | None:
        """Return the program kept under ``key``, if any."""
        with self._lock:
            program = self._items.get(key)
            if program is not None:
                self._items.move_to_end(key)
            return program

    def put(self, key: tuple, program: bytes) -> None:
        """Keep ``program`` under ``key``, dropping the least recently used beyond the size."""
        with self._lock:
            self._items[key] = program
            while len(self._items) > self._size:
                self._items.popitem(last=False)


_SUBSETS = _Subsets()


@dataclass(frozen=True)
class _Saved:
    """A font program already encoded, standing in for the ``TTFont`` pyHanko saves into the PDF."""

    program: bytes

    def save(self, out: io.BytesIO) -> None:
        """Write the program."""
        out.write(self.program)


class _GlyphAccumulator(GlyphAccumulator):
    """A glyph accumulator working in the 1000-unit glyph space PDF requires.

    pyHanko 0.38 writes ``/W`` widths and ``TJ`` adjustments in the font's own
    units, which spreads the letters of fonts with 2048 units per em (DejaVu,
    most TrueType fonts) far apart. Scaling HarfBuzz and the widths to 1000
    units per em fixes both; fonts that already use 1000 are unchanged.
    Shaping uses the full font; subsetting a copy without the shaping tables
    (glyph ids are the same) is several times faster, and a subset made before
    for the same glyphs is reused.
    """

    def __init__(self, writer: BasePdfFileWriter, data: _FontData, key: tuple):
        super().__init__(writer=writer, font_handle=io.BytesIO(data.for_subset), font_size=10)
        self._key = key
        self._font_units = self.units_per_em
        self.units_per_em = 1000
        self.hb_font = hb.Font(hb.Face(data.original))
        self.hb_font.scale = (1000, 1000)

    def prepare_write(self) -> None:
        """Embed the subset; an accumulator that shaped nothing embeds .notdef rather than failing."""
        if not self._glyphs:
            self._get_cid_and_width(0)
        super().prepare_write()

    def _extract_subset(self, options: subset.Options | None = None) -> None:
        key = (*self._key, frozenset(self._glyphs))
        program = _SUBSETS.get(key)
        if program is None:
            super()._extract_subset(options)
            _SUBSETS.put(key, _save(self.tt))
        else:  # pyHanko embeds the font by saving it: the same subset as before is "saved" as the bytes it was
            self.cidfont_obj._tt = _Saved(program)

    def _get_cid_and_width(self, glyph_id: int) -> tuple[int, int]:
        cached = self._glyphs.get(glyph_id)
        if cached is not None:
            return cached
        cid, width = super()._get_cid_and_width(glyph_id)
        self._glyphs[glyph_id] = result = cid, round(width * 1000 / self._font_units)
        return result


@dataclass(frozen=True)
class _FontFactory(FontEngineFactory):
    """Create glyph accumulators from in-memory font bytes (pyHanko's own factory leaks a file handle)."""

    path: str
    latin: bool = False

    def create_font_engine(self, writer: BasePdfFileWriter, obj_stream=None) -> GlyphAccumulator:
        """Return a fresh accumulator for ``writer``."""
        return _GlyphAccumulator(writer, _font_data(self.path, self.latin), (self.path, self.latin))


def load_image(data: bytes) -> Image.Image:
    """Decode a PNG/JPEG image for embedding, bounded in size; raise :class:`AppearanceError` if it is unusable."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.format not in ("PNG", "JPEG"):
            raise AppearanceError(f"the stamp image must be PNG or JPEG, not {image.format}")
        if image.width * image.height > MAX_IMAGE_PIXELS:
            raise AppearanceError("the stamp image is too large")
        image.load()
        if image.mode in ("P", "PA"):
            image = image.convert("RGBA" if "transparency" in image.info or image.mode == "PA" else "RGB")
        elif image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if "A" in image.mode else "RGB")
        image.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise AppearanceError("the stamp image cannot be read as PNG or JPEG") from exc
    return image


class _Font:
    """One embedded font of a stamp: shaping, measuring and its resource name."""

    def __init__(self, writer: BasePdfFileWriter, path: str, resource: str, latin: bool = False):
        self.engine = _FontFactory(path, latin).create_font_engine(writer)
        self.resource = resource
        hhea, head = self.engine.tt["hhea"], self.engine.tt["head"]
        self.ascent = hhea.ascent / head.unitsPerEm
        self._widths: dict[str, float] = {}

    def width(self, text: str, size: float) -> float:
        """Return the advance width of ``text`` at ``size`` points."""
        em = self._widths.get(text)
        if em is None:
            em = self._widths[text] = self.engine.shape(text, with_actual_text=False).x_advance
        return em * size

    def show(self, text: str, size: float, x: float, y: float) -> bytes:
        """Return content-stream operators drawing ``text`` with its baseline at ``(x, y)``."""
        self.engine.font_size = size
        ops = self.engine.shape(text).graphics_ops
        return b"BT /%s %g Tf %g %g Td %s ET" % (self.resource.encode(), size, x, y, ops)


def _split_word(font: _Font, word: str, size: float, width: float) -> list[str]:
    """Break a word wider than ``width`` into pieces that fit."""
    pieces, current = [], ""
    for char in word:
        if current and font.width(current + char, size) > width:
            pieces.append(current)
            current = char
        else:
            current += char
    if current:
        pieces.append(current)
    return pieces


def wrap(font: _Font, text: str, size: float, width: float) -> list[str]:
    """Greedily wrap ``text`` into lines no wider than ``width`` points."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        pieces = [word] if font.width(word, size) <= width else _split_word(font, word, size, width)
        for piece in pieces:
            candidate = f"{current} {piece}" if current else piece
            if font.width(candidate, size) <= width:
                current = candidate
            else:
                if current:
                    lines.append(current)
                current = piece
    if current:
        lines.append(current)
    return lines


@dataclass(frozen=True)
class _Line:
    text: str
    font: _Font
    size: float


def _ellipsize(line: _Line, width: float) -> _Line:
    """Return ``line`` ending in an ellipsis, shortened to fit ``width``."""
    text = line.text.rstrip()
    while text and line.font.width(text + ELLIPSIS, line.size) > width:
        text = text[:-1].rstrip()
    return _Line(text + ELLIPSIS, line.font, line.size)


@dataclass(frozen=True)
class Paragraph:
    """A piece of stamp text: its font and base size, and how much it should stay on one line (0: wrap freely)."""

    text: str
    font: _Font
    size: float
    keep: int = 0


def _scales(style: StampStyle) -> list[float]:
    steps = max(0, round((style.max_scale - style.min_scale) / 0.05))
    return [round(style.max_scale - 0.05 * i, 4) for i in range(steps + 1)]


def layout_lines(paragraphs: list[Paragraph], width: float, height: float, style: StampStyle) -> list[_Line]:
    """Lay the paragraphs out at the largest scale that fits the box; truncate with an ellipsis as a last resort.

    Preferred layouts keep paragraphs with a ``keep`` rank on one line, at a
    scale no smaller than ``nowrap_min_scale``; the lowest ranks are given up
    first (the name may wrap before the date does); failing all that,
    everything wraps, down to ``min_scale``.
    """

    def attempt(scale: float) -> tuple[list[_Line], float]:
        lines = [
            _Line(text, p.font, p.size * scale) for p in paragraphs for text in wrap(p.font, p.text, p.size * scale, width)
        ]
        return lines, sum(line.size * style.line_spacing for line in lines)

    scales = _scales(style)
    for rank in sorted({p.keep for p in paragraphs if p.keep}):
        kept_whole = [p for p in paragraphs if p.keep >= rank]
        for scale in (s for s in scales if s >= style.nowrap_min_scale):
            if all(p.font.width(p.text, p.size * scale) <= width for p in kept_whole):
                lines, used = attempt(scale)
                if used <= height:
                    return lines
    for scale in scales:
        lines, used = attempt(scale)
        if used <= height:
            return lines
    kept: list[_Line] = []
    used = 0.0
    for line in lines:
        if used + line.size * style.line_spacing > height:
            break
        kept.append(line)
        used += line.size * style.line_spacing
    if kept:
        kept[-1] = _ellipsize(kept[-1], width)
    return kept


@dataclass(frozen=True)
class AppearanceStyle(TextStampStyle):
    """pyHanko stamp style that renders a :class:`Stamp` with a :class:`StampStyle`."""

    stamp: Stamp = Stamp(name="")
    look: StampStyle = DEFAULT_STAMP_STYLE
    timestamp_format: str = _TS_FORMAT
    border_width: int = 0

    def create_stamp(self, writer: BasePdfFileWriter, box: layout.BoxConstraints, text_params: dict) -> Appearance:
        """Return the stamp for one signature widget."""
        return Appearance(writer=writer, style=self, box=box, text_params=text_params)


class Appearance(BaseStamp):
    """Signature appearance: background, QR code on the left, text in the middle, image on the right."""

    def __init__(self, writer: BasePdfFileWriter, style: AppearanceStyle, box: layout.BoxConstraints, text_params: dict):
        if not (box and box.width_defined and box.height_defined):
            raise AppearanceError("a visible signature needs a box with a width and a height")
        super().__init__(writer=writer, style=style, box=box)
        ts = text_params.get("ts")
        self.moment = datetime.strptime(ts, _TS_FORMAT) if ts else datetime.now(timezone.utc)

    def _qr(self, url: str) -> tuple[generic.IndirectObject, float]:
        # A fixed mask: choosing the best of eight is most of the QR code's cost, and any mask scans.
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=1, mask_pattern=0)
        qr.add_data(url)
        qr.make()
        image = qr.make_image(image_factory=PdfStreamQRImage)
        size = (qr.modules_count + 2 * qr.border) * qr.box_size
        xobject = init_xobject_dictionary(image.render_command_stream(), size, size)
        xobject.compress()
        return self.writer.add_object(xobject), size

    def _render_inner_content(self) -> list[bytes]:
        look: StampStyle = self.style.look
        stamp: Stamp = self.style.stamp
        width, height, pad = self.box.width, self.box.height, look.padding
        inner_height = max(height - 2 * pad, 1.0)
        commands: list[bytes] = []
        if look.background is not None:
            commands.append(b"q %g %g %g rg 0 0 %g %g re f Q" % (*look.background, width, height))

        left = pad
        if stamp.qr_url:
            ref, natural = self._qr(stamp.qr_url)
            side = min(inner_height, width * look.qr_share)
            self.set_resource(ResourceType.XOBJECT, pdf_name("/QR"), ref)
            commands.append(b"q %g 0 0 %g %g %g cm /QR Do Q" % (side / natural, side / natural, pad, (height - side) / 2))
            left = pad + side + pad

        right = width - pad
        if stamp.image:
            image = load_image(stamp.image)
            column = max(width - left - pad, 1.0) * look.image_share
            scale = min(column / image.width, inner_height / image.height)
            drawn_w, drawn_h = image.width * scale, image.height * scale
            self.set_resource(ResourceType.XOBJECT, pdf_name("/Img"), pil_image(image, self.writer))
            x = width - pad - drawn_w
            commands.append(b"q %g 0 0 %g %g %g cm /Img Do Q" % (drawn_w, drawn_h, x, (height - drawn_h) / 2))
            right = x - pad

        commands.extend(self._text(left, right - left, inner_height))
        return commands

    def _text(self, x: float, width: float, height: float) -> list[bytes]:
        look: StampStyle = self.style.look
        stamp: Stamp = self.style.stamp
        if width < 4:
            return []
        date_line = look.display_time(self.moment)
        if look.date_label:
            date_line = f"{look.date_label}: {date_line}"
        used = {ord(char) for text in (stamp.name, stamp.position, date_line, look.statement, ELLIPSIS) for char in text}
        latin = used <= LATIN and all(
            used <= _font_data(path, True).characters for path in (look.font_path, look.bold_font_path) if path
        )
        regular = _Font(self.writer, look.font_path, "F1", latin)
        bold = (
            _Font(self.writer, look.bold_font_path, "F2", latin) if look.bold_font_path and stamp.name.strip() else regular
        )
        paragraphs = [
            Paragraph(stamp.name, bold, look.name_size, keep=1),
            Paragraph(stamp.position, regular, look.text_size),
            Paragraph(date_line, regular, look.text_size, keep=2),
            Paragraph(look.statement, regular, look.statement_size),
        ]
        lines = layout_lines([p for p in paragraphs if p.text.strip()], width, height, look)
        if not lines:
            return []
        for font in {id(f): f for f in (regular, bold)}.values():
            self.set_resource(ResourceType.FONT, pdf_name("/" + font.resource), font.engine.as_resource())
        block = sum(line.size * look.line_spacing for line in lines)
        top = (self.box.height + block) / 2
        commands = [b"q %g %g %g rg" % look.text_color]
        for line in lines:
            leading = line.size * look.line_spacing
            baseline = top - (leading - line.size) / 2 - line.font.ascent * line.size
            commands.append(line.font.show(line.text, line.size, x, baseline))
            top -= leading
        commands.append(b"Q")
        return commands


def stamp_style(stamp: Stamp, look: StampStyle = DEFAULT_STAMP_STYLE) -> AppearanceStyle:
    """Return the pyHanko stamp style drawing ``stamp``."""
    return AppearanceStyle(stamp=stamp, look=look, border_width=look.border_width, border_color=look.border_color)
