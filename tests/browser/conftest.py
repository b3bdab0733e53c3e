"""Fixtures for browser tests: one JupyterLab server per session, a fresh page (and kernels of
its own) per test, Debian's Chromium per module.

See ``tests/browser/harness.py`` for how to write a browser test.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import Lab, LabServer, find_chromium, launch_chromium

REQUIRE_BROWSER = os.environ.get("LABKIT_REQUIRE_BROWSER", "") not in ("", "0")


def _unavailable(reason: str) -> None:
    if REQUIRE_BROWSER:
        pytest.fail(f"{reason} (LABKIT_REQUIRE_BROWSER is set, so this is a failure)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium executable, or a skip (a failure when LABKIT_REQUIRE_BROWSER=1)."""
    path = find_chromium()
    if path is None:
        where = os.environ.get("LABKIT_CHROMIUM") or "/usr/bin/chromium"
        _unavailable(f"Chromium is not installed at {where} (apt-get install -y chromium)")
    assert path is not None
    return path


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    """Playwright's Browser on Debian's Chromium, shared by one module's tests.

    Not by the whole session: while Playwright's sync API is active it leaves an asyncio loop
    marked as running on the main thread, and ``asyncio.run`` in later (non-browser) tests
    would refuse to start.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed (pip install -e '.[test]')")
    from playwright.sync_api import expect

    # Assertions retry until this timeout: generous for two shared cores, instant when met.
    expect.set_options(timeout=15_000)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, chromium)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    # Remember each phase's outcome on the test, so the lab fixture knows it failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def _artifact_dir(request: pytest.FixtureRequest) -> Path:
    name = re.sub(r"[^\w.-]+", "_", request.node.name)
    return Path(request.config.rootpath) / "test-artifacts" / "browser" / name


@pytest.fixture(scope="session")
def lab_server(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """One JupyterLab server for the whole session (starting one costs seconds); each test
    works in a folder of its own in it and shuts its kernels down at the end."""
    server = LabServer(tmp_path_factory.mktemp("jupyter")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def lab(browser: Any, lab_server: LabServer, request: pytest.FixtureRequest) -> Iterator[Lab]:
    """A fresh page on the session's JupyterLab, with a folder and kernels of its own;
    diagnostics are saved if the test fails."""
    artifacts = _artifact_dir(request)
    shutil.rmtree(artifacts, ignore_errors=True)  # only this run's pictures
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    folder = re.sub(r"[^\w.-]+", "_", request.node.name)[:80]
    lab = Lab(lab_server, page, artifacts, folder=folder)
    try:
        yield lab
    finally:
        report = getattr(request.node, "report_call", None)
        if report is None or report.failed:
            lab.save_diagnostics()
        lab.close()
        context.close()
        lab.shutdown_kernels()
