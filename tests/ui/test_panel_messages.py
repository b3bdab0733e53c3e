"""A panel costs the kernel few messages.

Every widget is a comm: its ``comm_open``, each update, its layout and its style are messages
on the kernel's IOPub socket, which keeps about 1000 of them for a reader that is behind
(ZeroMQ's high-water mark) and silently drops the rest. CI saw ``smu.panel()`` "busy" for
300 s in JupyterLab and a tutorial cell time out in the docs build, each at a cell showing a
panel, with the kernel idle; the SMU's panel cost 1,264 messages then (704 opens, 560
updates). These tests count what a panel sends through a recording comm, as ipykernel would.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator
from typing import Any

import comm
import ipywidgets as widgets
import pytest
from comm.base_comm import BaseComm

import labkit
from labkit.drivers.keithley import Keithley2450
from labkit.drivers.keysight import Keysight34465A

# What one panel may send while it is built and first filled: well under the 1000 the IOPub
# socket keeps, so that a cell showing two panels (and the live views beside them) fits.
PANEL_BUDGET = 450


class _Recorded(BaseComm):
    """A comm that records what it would publish instead of sending it."""

    log: list[tuple[str, dict[str, Any]]] = []

    def publish_msg(
        self, msg_type: str, data: Any = None, metadata: Any = None, **keys: Any
    ) -> None:
        self.log.append((msg_type, {**(data or {}), "comm_id": self.comm_id}))


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    log: list[tuple[str, dict[str, Any]]] = []
    monkeypatch.setattr(_Recorded, "log", log)
    monkeypatch.setattr(comm, "create_comm", lambda *a, **k: _Recorded(*a, **k))
    return log


@pytest.fixture(scope="module")
def bench() -> Iterator[labkit.sim.Bench]:
    bench = labkit.sim.Bench(seed=5, prefix="messages_")
    yield bench
    bench.close()


def _updates(
    log: list[tuple[str, dict[str, Any]]], but: tuple[str, ...] = ()
) -> collections.Counter[str]:
    """Which traits the updates carried, counted (except updates of models named in ``but``)."""
    models = {
        data["comm_id"]: data["state"].get("_model_name")
        for kind, data in log
        if kind == "comm_open" and "state" in data
    }
    return collections.Counter(
        key
        for kind, data in log
        if kind == "comm_msg" and models.get(data["comm_id"]) not in but
        for key in data.get("state", {})
    )


@pytest.mark.parametrize(("name", "driver"), [("smu", Keithley2450), ("dmm", Keysight34465A)])
def test_a_panel_is_built_in_few_messages_and_none_adds_a_class_afterwards(
    bench: labkit.sim.Bench, sent: list[tuple[str, dict[str, Any]]], name: str, driver: Any
) -> None:
    instrument = driver(bench.address(name), name=f"messages_{name}")
    try:
        panel = instrument.panel()
        panel.wait_idle(30)
        opens = sum(kind == "comm_open" for kind, _ in sent)
        updates = _updates(sent)
        assert opens + sum(updates.values()) <= PANEL_BUDGET, (opens, updates)
        assert opens >= len(panel.rows), "every row was sent"
        # Classes and layouts go with each widget's comm_open, not after it (an array
        # reading's small bqplot figure is the plots' own business).
        own = _updates(sent, but=("FigureModel",))
        assert own["_dom_classes"] == 0, own
        assert own["layout"] == 0, own
        shown = [d["state"] for kind, d in sent if kind == "comm_open" and "state" in d]
        tagged = [
            s
            for s in shown
            if f"labkit-setting-{next(iter(panel.rows))}" in s.get("_dom_classes", ())
        ]
        assert tagged, "the rows' cells carry their tags from the start"
    finally:
        instrument.close()


def test_closing_a_panel_leaves_the_layouts_it_shared_open_for_the_others(
    bench: labkit.sim.Bench, sent: list[tuple[str, dict[str, Any]]]
) -> None:
    smu = Keithley2450(bench.address("smu"), name="messages_first")
    dmm = Keysight34465A(bench.address("dmm"), name="messages_second")
    try:
        first, second = smu.panel(), dmm.panel()
        first.wait_idle(30)
        second.wait_idle(30)
        label = next(iter(second.rows.values())).label
        first.close()
        assert label.layout.comm is not None
        assert label.style.comm is not None
        # ...and a panel made after every widget was closed (a test's close_all) gets fresh ones.
        second.close()
        widgets.Widget.close_all()
        third = smu.panel()
        third.wait_idle(30)
        cell = next(iter(third.rows.values())).label
        assert cell.layout.comm is not None
        assert cell.style.comm is not None
        third.close()
    finally:
        smu.close()
        dmm.close()
