"""Face detection and selfie comparison on real photos (face_recognition's MIT-licensed test images)."""

from __future__ import annotations

import os
import threading
import time

import cv2
import numpy as np
import pytest

from app.domain.enrolment import faces
from app.domain.enrolment.faces import FaceCheck, ImageTooLarge, MultipleFaces, NoFace, NotAnImage
from tests.fixtures.faces import encode_jpeg, read_y4m_frame

THRESHOLD = faces.DEFAULT_THRESHOLD


def test_default_threshold_is_the_configured_default(app):
    assert app.config["FACE_MATCH_THRESHOLD"] == THRESHOLD


@pytest.mark.parametrize("other", ["obama2", "obama3"])
def test_same_person_matches(face_photos, other):
    check = faces.compare(face_photos["obama"], face_photos[other], THRESHOLD)
    print(f"obama vs {other}: {check.score:.3f}")
    assert check.faces == 1 and check.matched is True
    assert check.score > THRESHOLD + 0.2


@pytest.mark.parametrize("selfie", ["obama", "obama2", "obama3"])
def test_other_person_does_not_match(face_photos, selfie):
    check = faces.compare(face_photos[selfie], face_photos["biden"], THRESHOLD)
    print(f"{selfie} vs biden: {check.score:.3f}")
    assert check.faces == 1 and check.matched is False
    assert check.score < THRESHOLD - 0.05


def test_threshold_decides(face_photos):
    score = faces.compare(face_photos["obama"], face_photos["obama2"]).score
    assert faces.compare(face_photos["obama"], face_photos["obama2"], threshold=score + 0.01).matched is False


def test_comparison_time(face_photos):
    faces.compare(face_photos["obama"], face_photos["obama2"])  # models loaded
    runs = 5
    start = time.perf_counter()
    for _ in range(runs):
        faces.compare(face_photos["obama"], face_photos["obama2"])
    per_call = (time.perf_counter() - start) / runs
    print(f"compare(): {per_call * 1000:.0f} ms per comparison")
    assert per_call < 2.0


def test_two_faces_are_refused(two_faces_jpeg, face_photos):
    assert len(faces.detect(two_faces_jpeg)) == 2
    with pytest.raises(MultipleFaces, match="lebih dari satu wajah"):
        faces.compare(two_faces_jpeg, face_photos["obama"])


def test_no_face_is_refused(no_face_jpeg, face_photos):
    assert faces.detect(no_face_jpeg) == []
    with pytest.raises(NoFace, match="Wajah tidak terdeteksi"):
        faces.compare(no_face_jpeg, face_photos["obama"])


@pytest.mark.parametrize(
    "data",
    [os.urandom(4096), b"Ini berkas teks, bukan foto.\n", b"", b"\xff\xd8\xff\xe0" + os.urandom(64)],
    ids=["random", "text", "empty", "broken-jpeg"],
)
def test_not_an_image(data):
    with pytest.raises(NotAnImage) as caught:
        faces.compare(data, None)
    assert str(caught.value) == "Berkas bukan gambar JPEG/PNG yang dapat dibaca."
    with pytest.raises(NotAnImage):
        faces.detect(data)


def test_too_large_is_refused():
    with pytest.raises(ImageTooLarge, match="10 MB"):
        faces.compare(b"\xff\xd8\xff" + bytes(faces.MAX_BYTES), None)


def test_no_reference_still_needs_exactly_one_face(face_photos, two_faces_jpeg, no_face_jpeg):
    assert faces.compare(face_photos["obama"], None) == FaceCheck(faces=1, score=None, matched=None)
    with pytest.raises(MultipleFaces):
        faces.compare(two_faces_jpeg, None)
    with pytest.raises(NoFace):
        faces.compare(no_face_jpeg, None)


def test_reference_without_face_gives_no_score(face_photos, no_face_jpeg, caplog):
    assert faces.compare(face_photos["obama"], no_face_jpeg) == FaceCheck(faces=1, score=None, matched=None)
    assert "no face" in caplog.text
    assert faces.compare(face_photos["obama"], b"not an image") == FaceCheck(faces=1, score=None, matched=None)


def test_png_and_large_photos(face_photos):
    image = cv2.imdecode(np.frombuffer(face_photos["obama2"], np.uint8), cv2.IMREAD_COLOR)
    _, png = cv2.imencode(".png", image)
    big = encode_jpeg(cv2.resize(image, None, fx=3, fy=3, interpolation=cv2.INTER_CUBIC))  # ~1900x3600
    assert faces.compare(png.tobytes(), face_photos["obama"]).matched is True
    assert faces.compare(big, face_photos["obama"]).matched is True
    (box,) = faces.detect(big)
    (small_box,) = faces.detect(face_photos["obama2"])
    assert box.width == pytest.approx(small_box.width * 3, rel=0.1)  # boxes are in the original's pixels


def test_threads_compare_concurrently(face_photos):
    results, errors = [], []

    def work():
        try:
            for _ in range(3):
                results.append(faces.compare(face_photos["obama3"], face_photos["obama"]).score)
        except Exception as exc:  # noqa: BLE001  (any failure in a thread is reported below)
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(results) == 12 and max(results) - min(results) < 1e-5


@pytest.mark.parametrize("name", ["obama", "biden"])
def test_fake_camera_clip_shows_the_face(fake_camera_clip, face_photos, name):
    path = fake_camera_clip(name)
    header = path.read_bytes().split(b"\n", 1)[0]
    assert header.startswith(b"YUV4MPEG2 W640 H480 ") and b" C420" in header
    assert path.stat().st_size == len(header) + 1 + 30 * (len(b"FRAME\n") + 640 * 480 * 3 // 2)
    frame = read_y4m_frame(path, index=29)
    assert frame.shape == (480, 640, 3)
    (box,) = faces.detect(encode_jpeg(frame))
    assert box.height > 160  # large enough after Chromium scales the clip
    assert abs(box.x + box.width / 2 - 320) < 80 and abs(box.y + box.height / 2 - 240) < 80
    assert faces.compare(encode_jpeg(frame), face_photos[name]).matched is True
    # a half-size downscale (what a 320x240 request does) still finds the face
    assert len(faces.detect(encode_jpeg(cv2.resize(frame, (320, 240), interpolation=cv2.INTER_AREA)))) == 1
