"""The documentation builds without a single warning, executes the tutorials (their printed
results and plots are on the pages), and reads offline: maths is MathML written at build time,
and no page loads a script or a style from elsewhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kernel_stacks import kernel_environment, stacks_of

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
@pytest.mark.timeout(1200)  # it executes every tutorial: the build's own limit, not the default
def test_docs_build_with_warnings_as_errors_and_run_tutorials_on_their_pages(
    tmp_path: Path,
) -> None:
    pytest.importorskip("sphinx")
    pytest.importorskip("myst_nb")
    pytest.importorskip("latex2mathml")
    html = tmp_path / "html"
    result = subprocess.run(
        [
            *(sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html"),
            *(str(ROOT / "docs"), str(html)),
        ],
        capture_output=True,
        text=True,
        timeout=1200,
        env={
            **__import__("os").environ,
            "LABKIT_DATA": str(tmp_path / "data"),
            # A tutorial cell still running 15 s before the build's 180 s limit writes the
            # kernel's threads' stacks, shown below if the build fails.
            **kernel_environment(tmp_path / "kernel", dump_after=165),
        },
    )
    assert result.returncode == 0, (
        result.stdout[-4000:] + result.stderr[-4000:] + "\n" + stacks_of(tmp_path / "kernel")
    )
    assert (html / "concepts" / "instrument-model.html").is_file()

    # The contributors' page is built, in the navigation, and points into the driver
    # author's reference instead of repeating it.
    contributing = (html / "contributing.html").read_text(encoding="utf-8")
    assert 'href="concepts/links-and-declarations.html"' in contributing
    assert "tests/test_code_quality.py" in contributing
    assert 'href="contributing.html"' in (html / "index.html").read_text(encoding="utf-8")

    # The tutorials ran: the quickstart's fit and its plot are on its page.
    quickstart = (html / "tutorials" / "00-quickstart.html").read_text(encoding="utf-8")
    assert re.search(r"n = 1\.[5-9]\d", quickstart), "the printed ideality factor"
    assert re.search(r'<img [^>]*src="\.\./_images/[0-9a-f]+\.png"', quickstart), "the IV plot"
    runs = (html / "tutorials" / "02-runs.html").read_text(encoding="utf-8")
    assert "square / sine = 1.2" in runs
    assert "Traceback" not in quickstart + runs

    # Maths is MathML in the page, not LaTeX waiting for MathJax.
    simulation = (html / "concepts" / "simulation.html").read_text(encoding="utf-8")
    assert simulation.count("<math ") >= 10
    assert "<math " in quickstart
    pages = [p.read_text(encoding="utf-8") for p in html.rglob("*.html")]
    formulas = [
        f for page in pages for f in re.findall(r'class="math notranslate"[^>]*>(.{6})', page)
    ]
    assert formulas
    assert set(formulas) == {"<math "}, "every formula is MathML"
    assert not [p for p in pages if re.search(r"<script[^>]*mathjax", p, re.I)]
    remote = sorted(
        {
            url
            for page in pages
            for url in re.findall(r'<(?:script|link)[^>]*(?:src|href)="(https?://[^"]+)"', page)
        }
    )
    assert remote == [], f"pages load from elsewhere: {remote}"
