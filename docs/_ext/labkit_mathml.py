"""Maths as MathML written into the pages at build time: no MathJax, nothing fetched.

Sphinx's default renders ``$...$`` in the browser with MathJax from a CDN, so an offline
reader (a lab machine, Binder behind a proxy, the docs opened from disk) sees raw LaTeX.
Every browser labkit supports draws MathML itself; ``latex2mathml`` turns the LaTeX into it
when the page is built. A formula it cannot convert fails the build (warnings are errors).
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from latex2mathml.converter import convert
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _mathml(translator: Any, node: nodes.Element, latex: str, display: str) -> str:
    try:
        return convert(latex, display=display)
    except Exception as error:
        logger.warning(
            "this formula does not convert to MathML (%s): %s", error, latex, location=node
        )
        return translator.encode(latex)


def visit_math(translator: Any, node: nodes.math) -> None:
    translator.body.append(translator.starttag(node, "span", "", CLASS="math notranslate"))
    translator.body.append(_mathml(translator, node, node.astext(), "inline"))
    translator.body.append("</span>")
    raise nodes.SkipNode


def visit_displaymath(translator: Any, node: nodes.math_block) -> None:
    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate"))
    for part in (p for p in node.astext().split("\n\n") if p.strip()):
        translator.body.append(_mathml(translator, node, part, "block"))
    translator.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_html_math_renderer(
        "mathml", inline_renderers=(visit_math, None), block_renderers=(visit_displaymath, None)
    )
    return {"parallel_read_safe": True, "parallel_write_safe": True}
