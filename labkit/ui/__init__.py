"""labkit's notebook widgets: instrument panels (and, later, live views and run widgets).

This is the only package that imports ipywidgets and bqplot; the rest of labkit works headless.
``inst.panel()`` calls :func:`instrument_panel` through the display hook ``labkit`` registers.
"""

from labkit.ui._panel import InstrumentPanel, Section, instrument_panel
from labkit.ui._rows import ReadingRow, SettingRow

__all__ = ["InstrumentPanel", "ReadingRow", "Section", "SettingRow", "instrument_panel"]
