"""The app as ``explorer app`` starts it, and the browser that opens it, for the
headless-Chromium tests.

A module, not a fixture file: each browser test builds its own workspace folder, opens the
app on it with :func:`running_app` and a page of Debian's Chromium with :func:`chromium_page`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
START_SECONDS = 60  # the server answers its health check within seconds on a busy machine


def require_chromium() -> None:
    """Skip without Chromium on a developer's machine; fail in CI, which must have it."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing; CI must install the Debian chromium package.")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium chromium-driver")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_app(workspace: Path) -> Iterator[str]:
    """A streamlit server on a free local port over ``workspace``; yields its URL."""
    from explorer import cli

    port = _free_port()
    # the command `explorer app` runs, with the app's own settings (no Deploy button, ...)
    process = subprocess.Popen(
        cli.streamlit_command(["--server.headless", "true", "--server.address", "127.0.0.1",
                               "--server.port", str(port)]),
        env={**os.environ, "EXPLORER_WORKSPACE_DIR": str(workspace)},
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(f"the streamlit server did not start within {START_SECONDS} s")
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


@contextmanager
def chromium_page(viewport: dict, timeout_ms: int, **options) -> Iterator:
    """A page of headless Chromium (``options`` go to ``new_page``), whose every wait gives
    up after ``timeout_ms``; the browser closes afterwards, whatever happened."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            page = browser.new_page(viewport=viewport, **options)
            page.set_default_timeout(timeout_ms)
            yield page
        finally:
            browser.close()
