"""Every tutorial as a person runs it in JupyterLab: cell by cell (Shift+Enter), then Run All in
the same kernel. After each pass the page's live views are compared with what the runs saved:
every recorded point drawn, axes with numbers, a line that is not flat where the data is not,
camera pictures shown. Screenshots of every view go to ``test-artifacts/browser/<test>/``.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.harness import Lab, Notebook, wait_until
from tests.browser.live_page import live_figures

pytestmark = pytest.mark.browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TUTORIALS = sorted(p.stem for p in NOTEBOOKS.glob("*.ipynb"))
TUTORIAL_TIMEOUT = 300.0

# What the runs behind the page's views saved, by the class the page carries for each run.
SAVED = """
import json as _json, re as _re
import numpy as _np
from labkit.ui._run_live import _views as _lk_views
from labkit.ui._plots import LinePlot as _LinePlot
_saved = {}
for _view in list(_lk_views.values()):
    _tag = "labkit-run-" + _re.sub(r"[^A-Za-z0-9_-]", "-", str(_view.run.id))
    try:
        _ds = _view.run.dataset
    except Exception:
        continue
    _lines = []
    for _plot in _view.plots:
        if isinstance(_plot, _LinePlot):
            _values = _np.asarray(_ds[_plot.names[0]].values, float).ravel()
            if _plot.log_y:  # a log axis draws what is above zero (its title counts the rest)
                _values = _values[_values > 0]
            _finite = _values[_np.isfinite(_values)]
            _lines.append({"points": int(_finite.size),
                           "varies": bool(_finite.size > 1 and _finite.max() > _finite.min())})
    # Several views of one run (a linear and a log one) follow each other in the page.
    _entry = _saved.setdefault(_tag, {"status": _view.run.status, "lines": [], "cameras": 0})
    _entry["lines"] += _lines
    _entry["cameras"] += len(_view.cameras)
print("LABKIT-SAVED " + _json.dumps(_saved))
"""
_MARK = "LABKIT-SAVED "

_NUMBER = re.compile(r"^[−-]?\d+(\.\d+)?[fpnµmkMG]?$")


def _problems(figures: list[dict[str, Any]], saved: dict[str, Any]) -> list[str]:
    """What the page shows wrongly, figure by figure (empty: the views tell the truth)."""
    problems: list[str] = []
    line_index: dict[str, int] = {}
    for figure in figures:
        run = figure["run"]
        if run is None or run not in saved:
            continue  # a view that is not a run's (a standalone camera view)
        where = f"{figure['kind']} of {run}"
        labelled = [axis for axis in figure["axes"] if len(axis) >= 2]
        if figure["kind"] == "line":
            if len(labelled) < 2 or not all(all(_NUMBER.match(t) for t in a) for a in labelled):
                problems.append(f"{where}: axes without numbers {figure['axes']}")
            number = line_index.get(run, 0)
            line_index[run] = number + 1
            expected = saved[run]["lines"][number]
            drawn = figure["lines"][0] if figure["lines"] else {"points": 0, "spread": 0}
            if drawn["points"] != expected["points"]:
                problems.append(f"{where}: {drawn['points']} of {expected['points']} points drawn")
            if expected["varies"] and drawn["spread"] < 5:
                problems.append(
                    f"{where}: a flat line ({drawn['spread']:.1f} px) over varying data"
                )
            if not drawn.get("finite", True):
                problems.append(f"{where}: a line through positions that are not numbers")
        elif figure["kind"] == "heatmap":
            if len(labelled) < 3:
                problems.append(f"{where}: axes or colour bar without numbers {figure['axes']}")
        elif not any(number >= 1 for number in figure["pictures"]):
            problems.append(f"{where}: no picture drawn in its canvas")
    for run, entry in saved.items():
        shown = sum(1 for f in figures if f["run"] == run and f["kind"] == "line")
        if shown and shown != len(entry["lines"]):
            problems.append(f"{run}: {shown} line plots in the page, {len(entry['lines'])} made")
    return problems


def check_live_views(lab: Lab, nb: Notebook, label: str) -> int:
    """Wait until every live view in the page shows what its run saved (runs in the page
    have all ended: cells wait for them); screenshots each view. Returns how many."""
    seen: dict[str, Any] = {}

    def truthful() -> bool:
        # Only the marked line: a background thread's warning may be printed in the same cell.
        printed = nb.execute(SAVED).splitlines()
        seen["saved"] = saved = json.loads(
            next(line for line in printed if line.startswith(_MARK))[len(_MARK) :]
        )
        seen["figures"] = figures = live_figures(lab.page)
        seen["problems"] = _problems(figures, saved)
        return not seen["problems"]

    try:
        wait_until(truthful, timeout=30, interval=0.5, what="the live views to show the runs")
    except TimeoutError:
        raise AssertionError(
            f"after {label}, the live views do not show what was saved:\n"
            + "\n".join(seen.get("problems", []))
        ) from None
    views = lab.page.locator(".labkit-lineplot, .labkit-heatmap, .labkit-camera-view")
    for index in range(views.count()):
        lab.screenshot(f"{label}-view-{index}", views.nth(index))
    return views.count()


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("name", TUTORIALS)
def test_a_tutorial_runs_cell_by_cell_then_all_again_with_truthful_live_views(
    lab: Lab, name: str, tmp_path: Path
) -> None:
    folder = lab.server.root / lab.folder
    folder.mkdir(parents=True, exist_ok=True)
    for source in NOTEBOOKS.iterdir():
        if source.suffix in (".ipynb", ".yaml"):
            shutil.copyfile(source, folder / source.name)
    nb = lab.open_notebook(f"{name}.ipynb")
    nb.execute(f"import os; os.environ['LABKIT_DATA'] = {str(tmp_path / 'data')!r}")

    nb.run_one_by_one(timeout=TUTORIAL_TIMEOUT)
    first = check_live_views(lab, nb, "cell-by-cell")
    nb.run_all_again(timeout=TUTORIAL_TIMEOUT)
    second = check_live_views(lab, nb, "run-all")
    assert first == second, "the same views after Run All as after the cells one by one"
