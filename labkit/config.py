"""labkit's configuration file: where plugins, data and vendor libraries live on this machine.

One TOML file, ``$LABKIT_CONFIG`` or ``~/.config/labkit/config.toml`` (``$XDG_CONFIG_HOME``
respected)::

    [plugins]
    paths = ["~/lab/labkit-plugins"]

    [pvcam]
    library = "/opt/pvcam/library/x86_64/libpvcam.so.2"

Environment variables, where a part defines one, take precedence over the file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from labkit.core import ConfigurationError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

__all__ = ["config_path", "load_config", "setting"]


def config_path() -> Path:
    """Where the configuration file is read from (it need not exist)."""
    explicit = os.environ.get("LABKIT_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or "~/.config"
    return Path(base).expanduser() / "labkit" / "config.toml"


def load_config() -> dict[str, Any]:
    """The parsed configuration; an empty one if there is no file."""
    path = config_path()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise ConfigurationError(f"cannot read the configuration file {path}: {error}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigurationError(
            f"the configuration file {path} is not valid TOML: {error}",
            hint="Fix the file or point LABKIT_CONFIG elsewhere",
        ) from None


def setting(section: str, key: str, default: Any = None) -> Any:
    """One value from the configuration file, e.g. ``setting("pvcam", "library")``."""
    value = load_config().get(section, {})
    if not isinstance(value, dict):
        raise ConfigurationError(f"[{section}] in {config_path()} must be a table")
    return value.get(key, default)
