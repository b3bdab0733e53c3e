"""Writing a step of one's own, and steps from plugins (the ``labkit.steps`` entry points)."""

from __future__ import annotations

import importlib
import textwrap

import numpy as np
import pytest

import labkit
from labkit.core import PluginError
from labkit.runs import ExperimentStep, Set, Sweep, _registry
from labkit.store import Variable


class Spectrum:
    """A user's step: a whole spectrum per point, declared once, recorded each time."""

    def __init__(self, source, points=16):
        self.source = source
        self.points = points

    def prepare(self, plan):
        plan.uses(self.source)
        with plan.dimension(
            "wavelength",
            self.points,
            coordinate=Variable(
                "wavelength",
                ("wavelength",),
                (self.points,),
                "float64",
                {"units": "nm", "long_name": "wavelength"},
                data=np.linspace(400, 700, self.points),
            ),
        ):
            pass
        plan.record(
            "spectrum",
            {
                "counts": Variable(
                    "spectrum", ("wavelength",), (self.points,), "float64", {"units": "counts"}
                )
            },
        )

    async def run(self, ctx):
        (level,) = await ctx.read([self.source])
        ctx.record({"counts": np.full(self.points, level * 1e4)})

    def describe(self):
        return {"step": "Spectrum", "points": self.points}


def test_a_users_step_records_an_array_at_each_point(lab):
    step = Spectrum(lab.dmm.readings.current)
    assert isinstance(step, ExperimentStep)
    ds = labkit.run(Sweep(lab.smu.settings.voltage, [0.1, 0.2, 0.3], step)).wait()
    assert ds.spectrum.dims == ("smu_voltage", "wavelength")
    np.testing.assert_allclose(ds.spectrum.values[:, 0], [1.0, 2.0, 3.0])
    assert ds.wavelength.attrs["units"] == "nm"
    assert ds.attrs["plan"]["steps"][0]["steps"][0] == {"step": "Spectrum", "points": 16}


@pytest.fixture
def fresh_registry(monkeypatch, tmp_path):
    monkeypatch.setattr(_registry, "_registered", {})
    monkeypatch.syspath_prepend(str(tmp_path))
    labkit.plugins.refresh()
    yield tmp_path
    labkit.plugins.refresh()


def _install(folder, name, module, code, entry_points):
    (folder / f"{module}.py").write_text(textwrap.dedent(code))
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "\n".join(f"{key} = {value}" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[labkit.steps]\n{lines}\n")
    importlib.invalidate_caches()


def test_steps_from_entry_points_load_lazily_and_a_broken_one_says_why(fresh_registry, lab):
    _install(
        fresh_registry,
        "labkit_demo_steps",
        "labkit_demo_steps",
        """
        from labkit.runs import Read

        class DoubleRead:
            def __init__(self, handle):
                self.handle = handle
            def prepare(self, plan):
                plan.step(Read(first=self.handle))
                plan.step(Read(second=self.handle, name="again"))
            async def run(self, ctx):
                for child in ctx.node.children:
                    await ctx.run(child.step)
        """,
        {"double_read": "labkit_demo_steps:DoubleRead"},
    )
    _install(
        fresh_registry,
        "labkit_broken_steps",
        "labkit_broken_steps",
        "import a_package_that_is_not_installed\n",
        {"broken": "labkit_broken_steps:Nothing"},
    )
    known = labkit.runs.available_steps()
    assert known["sweep"] == "labkit"
    assert "labkit_demo_steps:DoubleRead" in known["double_read"]
    assert "broken" in known
    import sys

    assert "labkit_demo_steps" not in sys.modules, "listing imports nothing"
    step = labkit.runs.step("double_read", lab.dmm.readings.current)
    ds = labkit.run(step).wait()
    assert {"first", "second"} <= set(ds.data_vars)
    with pytest.raises(PluginError, match="missing package 'a_package_that_is_not_installed'"):
        labkit.runs.step("broken")
    assert "failed" in labkit.runs.available_steps()["broken"]
    with pytest.raises(PluginError, match="no experiment step named 'nope'"):
        labkit.runs.step("nope")


def test_registered_steps_and_name_clashes(fresh_registry, lab):
    labkit.runs.register_step("my_sweep", Sweep, source="my lab")
    assert labkit.runs.available_steps()["my_sweep"] == "my lab"
    with pytest.raises(PluginError, match="already exists"):
        labkit.runs.register_step("sweep", Sweep)
    made = labkit.runs.step("my_sweep", lab.smu.settings.voltage, [0, 1])
    assert isinstance(made, Sweep)
    labkit.runs.register_step("not_a_step", lambda: 42)
    with pytest.raises(PluginError, match="no prepare"):
        labkit.runs.step("not_a_step")


def test_set_takes_text_and_switch_settings_too(data_root):
    """Set stored its value with numpy's .item(), which text values do not have."""

    class Display(labkit.Instrument):
        text = labkit.Setting(str, doc="What the display shows")
        shown = labkit.Setting(bool, doc="Display on")

        def _set_text(self, value):
            self.sent = [*getattr(self, "sent", []), value]

        def _set_shown(self, value):
            self.sent = [*getattr(self, "sent", []), value]

    display = Display(name="display", connect=False)
    display.connected = True
    try:
        labkit.run(Set(display.settings.text, "hello"), Set(display.settings.shown, True)).wait(30)
        assert display.sent == ["hello", True]
        assert display.text == "hello"
    finally:
        display.close()


def test_call_awaits_what_a_handles_async_face_returns(lab):
    """A handle's ``set_async`` returns its instrument's coroutine: Call awaits it."""
    labkit.run(
        labkit.runs.Call(lab.smu.settings.voltage.set_async, 0.25),
        labkit.runs.Call(lab.dmm.readings.current.read_async),
    ).wait(30)
    assert lab.smu.voltage == 0.25
    assert lab.dmm.current == pytest.approx(0.25 / 1000, rel=1e-3)
