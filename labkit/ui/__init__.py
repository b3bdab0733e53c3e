"""labkit's notebook widgets: instrument panels and run widgets (and, later, live views).

This is the only package that imports ipywidgets and bqplot; the rest of labkit works headless.
``inst.panel()`` calls :func:`instrument_panel`, and a ``Run`` shown in a notebook calls
:class:`RunWidget`, through the display hooks ``labkit`` registers.
"""

from labkit.ui._panel import InstrumentPanel, Section, instrument_panel
from labkit.ui._rows import ReadingRow, SettingRow
from labkit.ui.run_widget import RunWidget

__all__ = [
    "InstrumentPanel",
    "ReadingRow",
    "RunWidget",
    "Section",
    "SettingRow",
    "instrument_panel",
]
