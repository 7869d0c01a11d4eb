"""Shared fixtures.  ``make_gateway`` starts a private real Postfix + milter + sink."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.clamd import PrivateClamd
from tests.harness.clamd import available as clamd_available
from tests.harness.gateway import Gateway
from tests.harness.postgres import PrivatePostgres
from tests.harness.postgres import available as postgres_available
from tests.harness.webui import chromium

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _postfix_available() -> bool:
    return shutil.which("postfix") is not None or Path("/usr/sbin/postfix").exists()


@pytest.fixture
def make_gateway() -> Iterator[Callable[..., Gateway]]:
    if not _postfix_available():
        pytest.fail("Debian postfix is not installed: run `make test`, which installs it")
    started: list[Gateway] = []

    def factory(
        config_text: str | None = None,
        socket_kind: str = "unix",
        quarantine_mode: str = "store",
        quarantine_database: str = "",
        store_size: str | None = None,
        deployed: bool = False,
    ) -> Gateway:
        # Short, traversable path: unix socket paths are limited to ~108 bytes, and Postfix's
        # unprivileged processes must reach data_directory (pytest's tmp dirs are 0700).
        root = Path(tempfile.mkdtemp(prefix="aupgw-", dir="/tmp"))
        root.chmod(0o755)
        gw = Gateway(
            root,
            config_text,
            socket_kind,
            quarantine_mode,
            quarantine_database=quarantine_database,
            store_size=store_size,
            deployed=deployed,
        )
        started.append(gw)
        gw.start()
        return gw

    yield factory
    for gw in started:
        gw.stop()
        gw.cleanup()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (fresh clone): corpus test skipped")
    return SHARED_DATA


@pytest.fixture(scope="session")
def clamd() -> Iterator[PrivateClamd]:
    """One real clamd (unprivileged, own test signatures) for the whole session."""
    if not clamd_available():
        pytest.fail("Debian clamav-daemon is not installed: run `make test`, which installs it")
    daemon = PrivateClamd()
    daemon.start()
    yield daemon
    daemon.stop()
    daemon.cleanup()


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    if not postgres_available():
        pytest.fail("Debian postgresql is not installed: run `make test`, which installs it")
    server = PrivatePostgres()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def browser() -> Iterator[Any]:
    """A real headless Chromium for the web tests (:mod:`tests.harness.webui`)."""
    with chromium() as b:
        yield b
