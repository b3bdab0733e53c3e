"""The quickstart, again and again: ten Run Alls in the same kernel, as a person re-running it
does, and after each the page's live views show every point the runs saved, with numbers on
their axes and lines that are not flat where the data is not."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.browser.harness import Lab
from tests.browser.test_tutorials_browser import NOTEBOOKS, TUTORIAL_TIMEOUT, check_live_views

pytestmark = pytest.mark.browser

REPEATS = 10


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_ten_quickstarts_in_one_kernel_each_with_truthful_live_views(
    lab: Lab, tmp_path: Path
) -> None:
    folder = lab.server.root / lab.folder
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(NOTEBOOKS / "00-quickstart.ipynb", folder / "00-quickstart.ipynb")
    nb = lab.open_notebook("00-quickstart.ipynb")
    nb.execute(f"import os; os.environ['LABKIT_DATA'] = {str(tmp_path / 'data')!r}")
    nb.run_all(timeout=TUTORIAL_TIMEOUT)
    views = [check_live_views(lab, nb, "run 1")]
    for attempt in range(2, REPEATS + 1):
        nb.run_all_again(timeout=TUTORIAL_TIMEOUT)
        views.append(check_live_views(lab, nb, f"run {attempt}"))
    assert views == [views[0]] * REPEATS, f"the same views each time: {views}"
    assert views[0] >= 3, "the sweep's current (linear and log) and the DMM's voltage"
