"""A live review service (uvicorn on a loopback port, in a thread) and Debian's Chromium driven by Playwright.

The browser is the system's /usr/bin/chromium (installed by `make sysdeps`); Playwright never downloads one.
Screenshots go to test-artifacts/browser/ at the repository root.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn
from tests.conftest import REPO_ROOT
from tests.e2e.service_world import World, build_world

from cordon.api.server import create_app

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"


@dataclass(frozen=True, slots=True)
class LiveService:
    url: str
    world: World


@pytest.fixture
def live(state_url: str, tmp_path: Path) -> Iterator[LiveService]:
    world = build_world(state_url, tmp_path)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service=world.service), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the review service did not start within 10 s")
        time.sleep(0.02)
    yield LiveService(f"http://127.0.0.1:{port}", world)
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
    world.service.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[object]:
    if not CHROMIUM.is_file():
        pytest.skip(f"{CHROMIUM} is missing: run `make sysdeps` (Debian package chromium)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go (kept after the run as test artefacts)."""
    name = str(request.node.name).replace("[", "-").replace("]", "")
    folder = ARTIFACTS / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
