"""One Chromium for all browser tests, started on the first and stopped after the last (package scope)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from playwright.sync_api import sync_playwright

from tests.e2e.browser import Browser, launch
from tests.fixtures.faces import CLIP_SIZE, write_y4m


@pytest.fixture(scope="package")
def chromium(tmp_path_factory) -> Iterator[tuple]:
    """Start Debian's Chromium once; return it and the clip file its fake camera plays (grey until a test picks one)."""
    camera_file = tmp_path_factory.mktemp("camera") / "camera.y4m"
    width, height = CLIP_SIZE
    write_y4m(camera_file, np.full((height, width, 3), 128, np.uint8))
    with sync_playwright() as playwright:
        chromium = launch(playwright, camera_file)
        yield chromium, camera_file
        chromium.close()


@pytest.fixture()
def browser(chromium, request) -> Iterator[Browser]:
    """Return this test's view of the shared Chromium; then close its contexts and fail on any CSP violation logged."""
    shared, camera_file = chromium
    session = Browser(shared, camera_file, lambda name: request.getfixturevalue("fake_camera_clip")(name))
    yield session
    session.close_contexts()
    assert session.csp_violations == [], "Content-Security-Policy violations:\n" + "\n".join(session.csp_violations)
