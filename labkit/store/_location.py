"""Where a store or a data root is: a local folder, or any URL zarr's fsspec layer reaches.

A :class:`Location` is a URL (``s3://lab-data/runs``, ``gs://…``, ``az://…``, ``memory://…``)
with its ``storage_options``, or a local folder. ``file://`` URLs become local folders, so
local runs keep what only a local disk gives: atomic renames and the owner's lock file.
Remote locations open as zarr's :class:`~zarr.storage.FsspecStore`; local ones as its
:class:`~zarr.storage.LocalStore`. Credentials and endpoints come from where the filesystem
package looks (``AWS_*`` variables, ``~/.aws``, ``GOOGLE_APPLICATION_CREDENTIALS``...), from
``storage_options``, or from ``LABKIT_STORAGE_OPTIONS`` (JSON) for the default data root.

A URL labkit cannot use is refused when the Location is made, naming the package to install
or the protocol that is unknown: never a local folder named after the scheme.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from labkit.core import ConfigurationError

__all__ = ["OPTIONS_VARIABLE", "Location", "location"]

OPTIONS_VARIABLE = "LABKIT_STORAGE_OPTIONS"

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# The package each common protocol needs, to name it when it is missing.
_PACKAGES = {
    "s3": "s3fs",
    "s3a": "s3fs",
    "gs": "gcsfs",
    "gcs": "gcsfs",
    "az": "adlfs",
    "abfs": "adlfs",
    "abfss": "adlfs",
    "http": "aiohttp",
    "https": "aiohttp",
}
_EXTRAS = {"s3fs": "labkit[s3]", "gcsfs": "labkit[gcs]", "adlfs": "labkit[azure]"}


def _check_protocol(protocol: str, url: str) -> None:
    """Refuse a protocol fsspec does not know, or whose package is not installed."""
    import fsspec

    try:
        fsspec.get_filesystem_class(protocol)
    except ImportError:
        package = _PACKAGES.get(protocol, f"the fsspec implementation of {protocol!r}")
        extra = _EXTRAS.get(package)
        raise ConfigurationError(
            f"labkit cannot use {url!r}: the {protocol}:// protocol needs the package "
            f"{package}, which is not installed",
            hint=f"pip install {package}" + (f" (or {extra})" if extra else ""),
        ) from None
    except ValueError:
        raise ConfigurationError(
            f"labkit cannot use {url!r}: no storage layer knows the protocol {protocol!r}",
            hint="Use a local path, file://, s3://, gs://, az:// or memory://",
        ) from None


def _options_from_environment() -> dict[str, Any]:
    text = os.environ.get(OPTIONS_VARIABLE)
    if not text:
        return {}
    try:
        options = json.loads(text)
    except ValueError as error:
        raise ConfigurationError(
            f"{OPTIONS_VARIABLE} is not valid JSON ({error})",
            hint='e.g. {"endpoint_url": "https://s3.example.org"}',
        ) from None
    if not isinstance(options, dict):
        raise ConfigurationError(f"{OPTIONS_VARIABLE} must be a JSON object, not {text!r}")
    return options


class Location:
    """A store or data root: a URL with storage options, or a local folder.

    Behaves enough like a :class:`~pathlib.Path` for building store paths (``root / day /
    name``, ``.name``, ``.stem``, ``.parent``); ``str()`` gives the URL (or the local path).
    """

    __slots__ = ("_key", "options", "path", "url")

    def __init__(self, url: str, options: Mapping[str, Any] | None = None) -> None:
        self.url = url.rstrip("/") if "://" in url else url
        self.options = dict(options or {})
        self.path: Path | None = None if "://" in url else Path(url)
        self._key: tuple[str, str] | None = None  # made when compared (catalogs make many)

    # -- what it is -------------------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return self.path is not None

    @property
    def protocol(self) -> str:
        return "file" if self.path is not None else self.url.split("://", 1)[0]

    @property
    def name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def stem(self) -> str:
        name = self.name
        return name.rsplit(".", 1)[0] if "." in name else name

    @property
    def suffix(self) -> str:
        name = self.name
        return "." + name.rsplit(".", 1)[1] if "." in name else ""

    @property
    def parent(self) -> Location:
        if self.path is not None:
            return Location(str(self.path.parent))
        head = self.url.rsplit("/", 1)[0]
        return Location(head, self.options) if "://" in head else self

    def __truediv__(self, part: str) -> Location:
        if self.path is not None:
            return Location(str(self.path / part))
        return Location(f"{self.url}/{str(part).strip('/')}", self.options)

    def relative_to(self, other: Location) -> str:
        if not self.url.startswith(other.url):
            raise ValueError(f"{self} is not under {other}")
        return self.url[len(other.url) :].strip("/").strip(os.sep)

    # -- zarr -------------------------------------------------------------------------------

    def store(self, *, read_only: bool = False) -> Any:
        """zarr's store for this location (LocalStore, or FsspecStore from the URL)."""
        if self.path is not None:
            from zarr.storage import LocalStore

            return LocalStore(str(self.path), read_only=read_only)
        from zarr.storage import FsspecStore

        try:
            return FsspecStore.from_url(
                self.url, storage_options=self.options or None, read_only=read_only
            )
        except TypeError as error:  # an option the filesystem does not take
            raise ConfigurationError(
                f"storage_options {self.options!r} do not suit {self.url!r}: {error}",
                hint="See the fsspec filesystem's documentation for the options it takes",
            ) from None

    # -- comparison and display -------------------------------------------------------------

    def _identity(self) -> tuple[str, str]:
        if self._key is None:
            self._key = (self.url, json.dumps(self.options, sort_keys=True, default=repr))
        return self._key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Location) and self._identity() == other._identity()

    def __hash__(self) -> int:
        return hash(self._identity())

    def __str__(self) -> str:
        return self.url

    def __repr__(self) -> str:
        return f"Location({self.url!r})"


def location(
    target: str | os.PathLike[str] | Location,
    storage_options: Mapping[str, Any] | None = None,
    *,
    environment_options: bool = False,
) -> Location:
    """A :class:`Location` from a path or URL, refusing at once what cannot be used.

    ``environment_options`` adds ``LABKIT_STORAGE_OPTIONS`` under ``storage_options`` (for
    the data root taken from ``LABKIT_DATA``); a URL under ``LABKIT_DATA`` given without
    ``storage_options`` gets them too (a store's URL found in the catalog, say).
    """
    if isinstance(target, Location):
        if storage_options:
            return Location(target.url, {**target.options, **storage_options})
        return target
    if isinstance(target, Path) or not isinstance(target, str):
        text = os.fspath(target)
        scheme = None
    else:
        text = target
        match = _SCHEME.match(text)
        scheme = match.group(1).lower() if match else None
    if scheme is None or scheme == "file" or scheme == "local":
        if scheme is not None:
            parts = urlsplit(text)
            if parts.netloc not in ("", "localhost"):
                raise ConfigurationError(
                    f"labkit cannot use {text!r}: a file:// URL names a path on this machine",
                    hint="Write file:///absolute/path (three slashes)",
                )
            text = unquote(parts.path)
        if storage_options:
            raise ConfigurationError(
                f"storage_options were given for the local path {text!r}, which takes none"
            )
        return Location(str(Path(text).expanduser().absolute()))
    under_default = text.startswith((os.environ.get("LABKIT_DATA") or "\0").rstrip("/"))
    use_environment = environment_options or (storage_options is None and under_default)
    options = dict(_options_from_environment() if use_environment else {})
    options.update(storage_options or {})
    if "::" in text:
        raise ConfigurationError(
            f"labkit cannot use the chained URL {text!r}",
            hint="Give the store's own URL (s3://bucket/prefix) and storage_options",
        )
    _check_protocol(scheme, text)
    return Location(f"{scheme}://{text.split('://', 1)[1]}", options)
