"""labkit's example compiled driver plugin: ACME PS-series bench supplies, written in C.

The driver is the shared library ``_acme_psu`` built beside this file (src/acme_psu.c); this
package only tells labkit where it is. ``LIBRARY`` is found without loading it.
"""

import importlib.util

_spec = importlib.util.find_spec(f"{__name__}._acme_psu")
if _spec is None or _spec.origin is None:  # pragma: no cover - a broken installation
    raise ImportError("labkit-acme-psu's compiled library _acme_psu is missing; reinstall it")

LIBRARY: str = _spec.origin
"""Path of the compiled plugin library (labkit's entry point names it)."""

__all__ = ["LIBRARY"]
