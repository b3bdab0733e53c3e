"""Finding GenTL producers: the ``.cti`` libraries through which GenICam cameras are reached.

A GenTL producer is a shared library a camera vendor installs (one per transport: GigE Vision,
USB3 Vision...). Which producers labkit uses is decided in this order, and the first source that
names any decides:

1. producers named explicitly (the ``producers=`` argument, or ``@producer`` in an address);
2. otherwise every producer in the folders of ``GENICAM_GENTL64_PATH`` (``GENICAM_GENTL32_PATH``
   on a 32-bit Python), ``os.pathsep``-separated, the variable vendors' installers set, together
   with the files and folders of labkit's configuration (``[genicam] producers = [...]``).

An entry is a ``.cti`` file, a folder of them, or ``"viky"``: the simulated producer that ships
inside the ``genicam`` wheel (a bouncing ball on three cameras). Its file is a vendor-style
producer like any other; labkit's code reaches it only because it is named.

A file named as a producer is checked before any GenICam code touches it: it must exist, load as
a shared library, and export GenTL's entry points. GenICam's own loader crashes the process on a
library that lacks them, so this check is what turns a wrong path into a clear error.
"""

from __future__ import annotations

import ctypes
import dataclasses
import os
import sys
import threading
from collections.abc import Iterable
from pathlib import Path

from labkit.core import ConfigurationError, MissingVendorLibrary

__all__ = [
    "ENV_VAR",
    "SIMULATED",
    "Producer",
    "check_producer",
    "find_producers",
    "resolve_producers",
    "simulated_producer",
]

ENV_VAR = "GENICAM_GENTL64_PATH" if sys.maxsize > 2**32 else "GENICAM_GENTL32_PATH"
SIMULATED = "viky"
"""The name that stands for the simulated producer of the ``genicam`` wheel."""

#: The entry points of GenTL 1.0 every producer exports (GenTL standard, chapter 6).
GENTL_FUNCTIONS = [
    "GCGetInfo",
    "GCGetLastError",
    "GCInitLib",
    "GCCloseLib",
    "GCReadPort",
    "GCWritePort",
    "GCGetPortURL",
    "GCGetPortInfo",
    "GCRegisterEvent",
    "GCUnregisterEvent",
    "EventGetData",
    "EventGetDataInfo",
    "EventGetInfo",
    "EventFlush",
    "EventKill",
    "TLOpen",
    "TLClose",
    "TLGetInfo",
    "TLGetNumInterfaces",
    "TLGetInterfaceID",
    "TLGetInterfaceInfo",
    "TLOpenInterface",
    "TLUpdateInterfaceList",
    "IFClose",
    "IFGetInfo",
    "IFGetNumDevices",
    "IFGetDeviceID",
    "IFUpdateDeviceList",
    "IFGetDeviceInfo",
    "IFOpenDevice",
    "DevGetPort",
    "DevGetNumDataStreams",
    "DevGetDataStreamID",
    "DevOpenDataStream",
    "DevGetInfo",
    "DevClose",
    "DSAnnounceBuffer",
    "DSAllocAndAnnounceBuffer",
    "DSFlushQueue",
    "DSStartAcquisition",
    "DSStopAcquisition",
    "DSGetInfo",
    "DSGetBufferID",
    "DSClose",
    "DSRevokeBuffer",
    "DSQueueBuffer",
    "DSGetBufferInfo",
]

_WHERE = {
    "argument": "named as a producer",
    "address": "named in the camera's address",
    "configuration": "from labkit's configuration",
}

_HOW_TO_FIX = (
    f"Install your camera vendor's GenTL producer (it sets {ENV_VAR}), name .cti files or folders "
    "in labkit's configuration ([genicam] producers = [...]), or use the simulated cameras of the "
    f"genicam package with the producer {SIMULATED!r} (address 'genicam://VikyTL_DEV_red@viky')"
)


@dataclasses.dataclass(frozen=True)
class Producer:
    """One GenTL producer file and where labkit learnt of it.

    ``spec`` is how to name it in an address (``"viky"`` or the path); ``origin`` is the source
    (``"argument"``, ``"address"``, the environment variable or ``"configuration"``).
    """

    path: Path
    spec: str
    origin: str

    @property
    def explicit(self) -> bool:
        """Named by the caller rather than found by the default search."""
        return self.origin in ("argument", "address")

    def __str__(self) -> str:
        return str(self.path)


def simulated_producer() -> Path:
    """The ``viky.cti`` simulated producer inside the installed ``genicam`` package."""
    try:
        import genicam
    except ImportError as error:
        raise MissingVendorLibrary(
            "the genicam package is not installed, so its simulated producer is not either",
            hint="pip install 'labkit[genicam]' (harvesters brings genicam)",
        ) from error
    path = Path(genicam.__file__).resolve().parent / "viky.cti"
    if not path.is_file():
        raise MissingVendorLibrary(
            f"the genicam package has no simulated producer at {path}",
            searched=[str(path)],
            hint="Reinstall genicam (pip install --force-reinstall genicam)",
        )
    return path


_checked: dict[tuple[str, int, int], None] = {}
_checked_lock = threading.Lock()


def check_producer(path: str | os.PathLike[str], *, origin: str = "argument") -> Path:
    """Return ``path`` if it is a loadable GenTL producer; raise ``MissingVendorLibrary`` if not.

    Loads the library with ctypes (which any producer about to be used is anyway) and looks for
    GenTL's entry points, so a text file or an unrelated library is refused by name instead of
    crashing GenICam's loader.
    """
    candidate = Path(path).expanduser()
    where = f" ({_WHERE.get(origin, 'from ' + origin)})" if origin else ""
    if not candidate.is_file():
        state = "is a folder, not a file" if candidate.is_dir() else "does not exist"
        raise MissingVendorLibrary(
            f"GenTL producer {candidate}{where} {state}",
            searched=[str(candidate)],
            hint=f"Correct the path. {_HOW_TO_FIX}",
        )
    stat = candidate.stat()
    key = (str(candidate.resolve()), stat.st_mtime_ns, stat.st_size)
    with _checked_lock:
        if key in _checked:
            return candidate
        try:
            library = ctypes.CDLL(str(candidate))
        except OSError as error:
            raise MissingVendorLibrary(
                f"{candidate}{where} is not a GenTL producer: it cannot be loaded as a shared "
                f"library ({error})",
                searched=[str(candidate)],
                hint="Check the file (a .cti for this operating system and a 64-bit Python). "
                + _HOW_TO_FIX,
            ) from None
        missing = [name for name in GENTL_FUNCTIONS if not hasattr(library, name)]
        if missing:
            shown = ", ".join(missing[:4]) + (
                f" and {len(missing) - 4} more" if len(missing) > 4 else ""
            )
            raise MissingVendorLibrary(
                f"{candidate}{where} is not a GenTL producer: it does not export {shown}",
                searched=[str(candidate)],
                hint="Name the vendor's .cti file, not another library. " + _HOW_TO_FIX,
            )
        _checked[key] = None
    return candidate


def _entries(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, (str, os.PathLike)):
        return [os.fspath(value)]
    if isinstance(value, Iterable):
        items = list(value)
        if all(isinstance(item, (str, os.PathLike)) for item in items):
            return [os.fspath(item) for item in items]
    raise ConfigurationError(
        f"{where} must be a path, 'viky', or a list of them, not {value!r}",
        hint="Write e.g. producers = ['/opt/vendor/lib/vendor.cti', 'viky']",
    )


def _expand(entry: str, origin: str, *, skip_missing_folders: bool) -> list[Producer]:
    """One entry (file, folder or the simulated producer's name) as producers."""
    if entry.strip().lower() == SIMULATED:
        return [Producer(simulated_producer(), SIMULATED, origin)]
    path = Path(entry).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() == ".cti" and p.is_file())
        return [Producer(check_producer(p, origin=origin), str(p), origin) for p in files]
    if not path.exists() and skip_missing_folders and path.suffix.lower() != ".cti":
        return []  # installers leave stale folders in the search path; a named file must exist
    return [Producer(check_producer(path, origin=origin), str(path), origin)]


def _unique(producers: Iterable[Producer]) -> list[Producer]:
    seen: dict[str, Producer] = {}
    for producer in producers:
        seen.setdefault(str(producer.path.resolve()), producer)
    return list(seen.values())


def resolve_producers(entries: object, *, origin: str = "argument") -> list[Producer]:
    """Producers from entries the caller named: files, folders or ``"viky"``."""
    found: list[Producer] = []
    for entry in _entries(entries, "producers"):
        found += _expand(entry, origin, skip_missing_folders=False)
    return _unique(found)


def find_producers(producers: object = None) -> list[Producer]:
    """The producers labkit uses: ``producers`` if given, else the environment and configuration.

    Every file found is checked (:func:`check_producer`): a broken one raises, naming it. An empty
    list means nothing is installed or configured.
    """
    if producers is not None:
        return resolve_producers(producers)
    found: list[Producer] = []
    for folder in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if folder.strip():
            found += _expand(folder.strip(), ENV_VAR, skip_missing_folders=True)
    from labkit.config import setting

    configured = setting("genicam", "producers")
    for entry in _entries(configured, "[genicam] producers in labkit's configuration"):
        found += _expand(entry, "configuration", skip_missing_folders=False)
    return _unique(found)


def searched_places() -> list[str]:
    """Where :func:`find_producers` looks, for error messages."""
    env = os.environ.get(ENV_VAR)
    places = [f"{ENV_VAR}={env}" if env else f"{ENV_VAR} (not set)"]
    try:
        from labkit.config import config_path, setting

        configured = setting("genicam", "producers")
        places.append(
            f"[genicam] producers in {config_path()}" + ("" if configured else " (not set)")
        )
    except ConfigurationError as error:
        places.append(f"labkit's configuration ({error})")
    return places


def no_producer_error() -> MissingVendorLibrary:
    return MissingVendorLibrary(
        "no GenTL producer found",
        searched=searched_places(),
        hint=_HOW_TO_FIX,
    )
