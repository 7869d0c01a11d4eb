"""Shared fixtures.  ``make_gateway`` starts a private real Postfix + milter + sink."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.harness.gateway import Gateway

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def _postfix_available() -> bool:
    return shutil.which("postfix") is not None or Path("/usr/sbin/postfix").exists()


@pytest.fixture
def make_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Gateway]]:
    if not _postfix_available():
        pytest.fail("Debian postfix is not installed: run `make test`, which installs it")
    started: list[Gateway] = []

    def factory(config_text: str | None = None, socket_kind: str = "unix") -> Gateway:
        # Short path: unix socket paths are limited to ~108 bytes.
        root = Path(tmp_path_factory.mktemp("gw", numbered=True))
        gw = Gateway(root, config_text, socket_kind)
        started.append(gw)
        gw.start()
        return gw

    yield factory
    for gw in started:
        gw.stop()


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip("../shared/data is not present (fresh clone): corpus test skipped")
    return SHARED_DATA
