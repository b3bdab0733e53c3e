"""labkit: run lab experiments from Jupyter notebooks."""

from labkit.core import *  # noqa: F403
from labkit.core import __all__ as _core_all

__version__ = "0.1.0"
__all__ = [*_core_all, "__version__"]
