"""Browser tests: the app on a live local server, driven by Playwright in Debian's Chromium.

Chromium is Debian's package (``/usr/bin/chromium``, installed by ``make test`` and
``.ci/run``); Playwright's own browser download is never used. Outside CI a missing Chromium
skips these tests with a clear reason; in CI (``CI=true``) it fails them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("ASSENSO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"


def pytest_collection_modifyitems(items):
    """Mark every test in this folder as a browser test."""
    for item in items:
        if "tests/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(params=["sqlite"])
def engine_name(request) -> str:
    """Browser tests exercise the UI; they run on the embedded SQLite database."""
    return request.param


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (make test installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def mailbox(tmp_path):
    """A development mailbox (local SMTP server storing what it receives); yields (store, port)."""
    from app.channels.devmailbox import MailboxStore, start_mailbox_server
    from tests.web.test_portal_support import free_port

    store = MailboxStore(tmp_path / "mailbox")
    port = free_port()
    controller = start_mailbox_server(store, "127.0.0.1", port)
    yield store, port
    controller.stop()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The application under test served on a free local port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def page(browser, live_server):
    """A fresh browser page (own cookies) with ``base_url`` set to the live server."""
    # bypass_csp only lets the tests inject axe-core; the CSP itself is tested on the headers.
    context = browser.new_context(base_url=live_server, bypass_csp=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core in ``page``; the violations of the given impacts."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]
