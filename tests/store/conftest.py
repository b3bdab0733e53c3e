"""Data roots elsewhere than a local folder: a real S3-compatible server, and ``memory://``."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from tests.s3server import S3Server


@pytest.fixture(scope="session")
def s3() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, on a port the OS picked, for the whole session."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    with S3Server() as server:
        yield server


class Root:
    """A data root URL and the storage options that reach it."""

    def __init__(self, url: str, options: dict[str, Any] | None = None) -> None:
        self.url = url
        self.options = options or {}

    def kwargs(self) -> dict[str, Any]:
        """As ``labkit.run``/``runs``/``open_run`` take them."""
        return {"storage_options": self.options or None}

    def __repr__(self) -> str:
        return self.url


@pytest.fixture
def s3_root(s3: S3Server) -> Root:
    """``s3://<a new bucket>/runs`` on the test server."""
    return Root(f"s3://{s3.new_bucket()}/runs", s3.storage_options)


@pytest.fixture
def memory_root() -> Root:
    """A fresh ``memory://`` root (fsspec's in-process filesystem)."""
    return Root(f"memory://labkit-{secrets.token_hex(4)}/runs")


@pytest.fixture(params=["s3", "memory"])
def remote_root(request: pytest.FixtureRequest) -> Root:
    """Each kind of remote root in turn."""
    return request.getfixturevalue(f"{request.param}_root")
