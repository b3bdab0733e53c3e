"""Fixtures for the native tests: every test that takes ``backend`` runs on each backend built."""

from __future__ import annotations

import pytest

import labkit.native as ln


@pytest.fixture(params=["c", "numpy"], scope="session")
def backend(request: pytest.FixtureRequest) -> str:
    """A backend name; the C run is skipped (not failed) where the extension is not built."""
    if request.param not in ln.available_backends:
        pytest.skip(
            f"needs labkit's compiled parts: the C extension is not available: {ln.c_import_error}"
        )
    return request.param


@pytest.fixture
def need_c() -> None:
    """Skip a C-versus-twin comparison where there is no C backend to compare."""
    if "c" not in ln.available_backends:
        pytest.skip(
            f"needs labkit's compiled parts: the C extension is not available: {ln.c_import_error}"
        )
