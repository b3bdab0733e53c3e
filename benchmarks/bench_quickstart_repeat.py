"""The quickstart, run again and again in one JupyterLab kernel: how many runs end with live
plots that tell the truth.

A real JupyterLab (the browser tests' harness, Debian's headless Chromium) opens
``notebooks/00-quickstart.ipynb`` and runs it with Run All ``--runs`` times in the same kernel
(the bench cell, the instruments, the panel, the sweep, the blocking ``run.wait()``, all run
again). After each Run All the page's live views are compared with what the run saved, as the
tutorials' browser test does: every recorded point drawn, numbers on every axis, no flat line
over varying data (``tests/browser/test_tutorials_browser.py``). The figure is the count of
runs whose views were right, beside the count of runs (issue 12's target: 10 of 10).

Run: ``python benchmarks/bench_quickstart_repeat.py [--runs 10]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.harness import Lab, LabServer, find_chromium, launch_chromium
from tests.browser.live_page import live_figures
from tests.browser.test_tutorials_browser import SAVED, _problems

QUICKSTART = Path(__file__).resolve().parents[1] / "notebooks" / "00-quickstart.ipynb"


def truthful(lab: Lab, nb, timeout: float = 30.0) -> list[str]:
    """Problems left after waiting up to ``timeout`` s for the views (empty: all right)."""
    deadline = time.monotonic() + timeout
    while True:
        saved = json.loads(nb.execute(SAVED).splitlines()[0])
        figures = live_figures(lab.page)
        problems = _problems(figures, saved)
        if not figures:
            problems = ["no live view in the page"]
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        sys.exit("Chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    home = Path(tempfile.mkdtemp(prefix="labkit-bench-quickstart-"))
    outcomes: list[list[str]] = []
    seconds: list[float] = []
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, chromium)
            server = LabServer(home / "lab").start()
            shutil.copyfile(QUICKSTART, server.root / QUICKSTART.name)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            lab = Lab(server, context.new_page(), home / "artifacts")
            try:
                nb = lab.open_notebook(QUICKSTART.name)
                nb.execute(f"import os; os.environ['LABKIT_DATA'] = {str(home / 'data')!r}")
                for number in range(options.runs):
                    began = time.monotonic()
                    if number == 0:
                        nb.run_all(timeout=180)
                    else:
                        nb.run_all_again(timeout=180)
                    seconds.append(time.monotonic() - began)
                    outcomes.append(truthful(lab, nb))
                    status = "right" if not outcomes[-1] else "; ".join(outcomes[-1])
                    print(f"Run All {number + 1:2d}: {seconds[-1]:5.1f} s, live views {status}")
            finally:
                lab.close()
                context.close()
                server.stop()
            browser.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    good = sum(1 for problems in outcomes if not problems)
    print(f"load average of the machine (1 min) at the end: {os.getloadavg()[0]:.1f}")
    print(
        f"quickstart, Run All {options.runs} times in one kernel: {good}/{len(outcomes)} runs with "
        f"correct live plots (target {options.runs}/{options.runs})"
    )


if __name__ == "__main__":
    main()
