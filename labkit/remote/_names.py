"""PV names of a served station: ``PREFIX<instrument>:<member>``, channels in between.

A setting, reading or action is ``PREFIX<instrument>:<name>``; a channel's is
``PREFIX<instrument>:<channel>:<name>``. labkit's own PVs beside them start with an underscore
(``PREFIX<instrument>:_status``), which no declaration may (the instrument model refuses
declared names starting with ``_``), so the two can never collide.
"""

from __future__ import annotations

import re

from labkit.core import ConfigurationError

__all__ = [
    "ACQUIRE",
    "CLAIM",
    "IDENTITY",
    "IMAGE",
    "INFO",
    "REGION",
    "STATUS",
    "check_prefix",
    "pv_name",
    "split_instrument",
]

STATUS = "_status"  # NTEnum: disconnected, idle, busy (and acquiring for a camera)
IDENTITY = "_identity"  # NTScalar string: who the instrument says it is (JSON)
INFO = "_info"  # NTScalar string: the PVs this instrument serves and their roles (JSON)
CLAIM = "_claim"  # RPC: a client's run claims settings so no one else writes them
IMAGE = "_image"  # NTNDArray: a camera's frames
ACQUIRE = "_acquire"  # NTScalar bool: a camera's live acquisition runs
REGION = "_region"  # structure: a camera's region of interest (x, y, width, height, binning)

# EPICS record names allow these characters; a prefix is usually "SECTOR:BENCH:" or "LAB1:".
_PREFIX = re.compile(r"^[A-Za-z0-9_\-:.\[\]<>;{}]*$")


def check_prefix(prefix: str) -> str:
    """Refuse a prefix that cannot start a PV name, saying what would work."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise ConfigurationError(
            f"{prefix!r} cannot start a PV name",
            hint="Use letters, digits and ':_-.' (for example 'LAB1:' or 'B12:BENCH3:')",
        )
    return prefix


def pv_name(prefix: str, path: str, member: str) -> str:
    """``pv_name("LAB1:", "psu.p6v", "voltage")`` is ``LAB1:psu:p6v:voltage``.

    ``path`` is the instrument's name, with a channel as ``instrument.channel``.
    """
    return f"{prefix}{path.replace('.', ':')}:{member}"


def split_instrument(prefix: str, name: str) -> tuple[str, str] | None:
    """``("psu.p6v", "voltage")`` for ``LAB1:psu:p6v:voltage`` under ``LAB1:``; None if ``name``
    does not start with ``prefix`` or has no member."""
    if not name.startswith(prefix):
        return None
    parts = name[len(prefix) :].split(":")
    if len(parts) < 2 or not all(parts):
        return None
    return ".".join(parts[:-1]), parts[-1]
