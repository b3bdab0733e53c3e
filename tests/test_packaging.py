"""What a fresh machine's pip needs to build labkit from pyproject.toml."""

from __future__ import annotations

import re
from pathlib import Path

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_setuptools_floor_accepts_the_spdx_license_expression() -> None:
    # ``license = "BSD-3-Clause"`` (PEP 639) is refused by setuptools before 77 ("project.license
    # must be valid exactly by one definition"): a build environment allowed an older one fails.
    assert isinstance(PYPROJECT["project"]["license"], str)
    (setuptools,) = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    floor = re.fullmatch(r"setuptools>=(\d+)(?:\.\d+)*", setuptools.replace(" ", ""))
    assert floor, f"the build requirement {setuptools!r} needs a floor"
    assert int(floor.group(1)) >= 77
