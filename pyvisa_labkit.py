"""pyvisa backend ``@labkit``: labkit's simulated instruments under pyvisa.

pyvisa resolves ``ResourceManager("@labkit")`` by importing ``pyvisa_<name>`` and using its
``WRAPPER_CLASS``; this module only points there. See ``labkit.sim._visa``.
"""

from labkit.sim._visa import LabkitVisaLibrary

WRAPPER_CLASS = LabkitVisaLibrary

__all__ = ["WRAPPER_CLASS"]
