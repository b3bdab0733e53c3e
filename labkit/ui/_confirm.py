"""The question a panel asks before an action that declared one (``Action(confirm=...)``).

A reset that turns outputs off should not be one stray click away. The question shows in
place under the action buttons, with the action named on the button that does it, and
nothing is sent until that button is pressed; Cancel, or pressing another action, forgets it.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from labkit.ui._format import escape

__all__ = ["Confirmation"]


class Confirmation:
    """A hidden bar that asks one question at a time and runs the answer's callback."""

    def __init__(self) -> None:
        self.question = widgets.HTML(layout=widgets.Layout(flex="1 1 auto"))
        self.question.add_class("labkit-confirm-question")
        self.yes = widgets.Button(button_style="warning", layout=widgets.Layout(width="auto"))
        self.yes.add_class("labkit-confirm-yes")
        self.cancel = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto"))
        self.cancel.add_class("labkit-confirm-cancel")
        self.widget = widgets.HBox(
            [self.question, self.yes, self.cancel],
            layout=widgets.Layout(display="none", align_items="center"),
        )
        self.widget.add_class("labkit-confirm")
        self.asking: str | None = None
        self._then: Callable[[], object] | None = None
        self.yes.on_click(lambda _button: self.answer(True))
        self.cancel.on_click(lambda _button: self.answer(False))

    def ask(self, name: str, question: str, label: str, then: Callable[[], object]) -> None:
        """Show ``question`` for the action ``name``; ``then`` runs if the user says yes."""
        self.asking, self._then = name, then
        self.question.value = f'<i class="fa fa-question-circle"></i> {escape(question)}'
        self.yes.description = label
        self.yes.tooltip = f"{label}: yes, do it"
        self.widget.layout.display = "flex"

    def answer(self, yes: bool) -> None:
        """Hide the question; run the action if ``yes``."""
        then = self._then
        self.forget()
        if yes and then is not None:
            then()

    def forget(self) -> None:
        self.asking, self._then = None, None
        self.question.value = ""
        self.widget.layout.display = "none"
