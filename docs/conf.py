"""Sphinx configuration for labkit's documentation (built in CI with warnings as errors)."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import labkit

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "labkit"
author = "The labkit developers"
copyright = "2026, The labkit developers"
release = labkit.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "labkit_mathml",
]
# Maths as MathML written at build time (docs/_ext/labkit_mathml.py): readable offline.
html_math_renderer = "mathml"

myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "fieldlist"]
myst_heading_anchors = 3
nb_merge_streams = True

# The tutorials live in notebooks/ (where `labkit lab` and Binder open them); Sphinx reads only
# its source folder, so they are copied into tutorials/ (git-ignored) before every build, with
# the files they open (the teaching lab's station file).
DOCS = Path(__file__).resolve().parent
TUTORIALS = DOCS / "tutorials"
for _source in sorted((DOCS.parent / "notebooks").glob("*")):
    if _source.suffix not in (".ipynb", ".yaml"):
        continue
    _copy = TUTORIALS / _source.name
    if not _copy.exists() or _copy.read_bytes() != _source.read_bytes():
        shutil.copyfile(_source, _copy)

# Execution. The notebooks are stored without outputs; the tutorial pages show them run, with
# their outputs and plots: every build executes them (cached by jupyter-cache between builds
# into the same output folder), into a throwaway data root so that a docs build never writes
# runs into anyone's ~/labkit-data. LABKIT_DOCS_EXECUTE=0 renders them as stored (a quick
# local build of the prose).
if os.environ.get("LABKIT_DOCS_EXECUTE", "1") != "0":
    nb_execution_mode = "cache"
    nb_execution_timeout = 180
    nb_execution_raise_on_error = True
    nb_execution_show_tb = True
    os.environ.setdefault("LABKIT_DATA", tempfile.mkdtemp(prefix="labkit-docs-data-"))
else:
    nb_execution_mode = "off"

# Live widgets cannot run in a static page (no kernel, and their state is not stored): pages show
# a widget's text instead, and load no widget JavaScript from a CDN, so they read offline.
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}
autosummary_generate = False

exclude_patterns = ["_build", "**.ipynb_checkpoints", "Thumbs.db", ".DS_Store"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}

html_theme = "pydata_sphinx_theme"
html_title = "labkit"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "footer_start": ["copyright"],
}
