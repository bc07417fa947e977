"""Debian's Chromium for the browser tests (Playwright never downloads a browser here)."""

from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling Google on this closed network.
QUIET = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def launch(playwright, camera_clip: Path | None = None):
    """Start headless Chromium; with ``camera_clip`` the camera is a fake one playing that clip."""
    camera = []
    if camera_clip is not None:
        camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                  f"--use-file-for-fake-video-capture={camera_clip}"]
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=QUIET + camera)
