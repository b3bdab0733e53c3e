"""The question a panel asks before an action that declared one (``Action(confirm=...)``).

A reset that turns outputs off should not be one stray click away. The question shows in
place under the action buttons, with the action named on the button that does it, and
nothing is sent until that button is pressed; Cancel, or pressing another action, forgets it.
"""

from __future__ import annotations

from collections.abc import Callable

from labkit.ui._format import escape
from labkit.ui._whole import button, hbox, html, own_layout

__all__ = ["Confirmation"]


class Confirmation:
    """A hidden bar that asks one question at a time and runs the answer's callback."""

    def __init__(self) -> None:
        self.question = html("", "labkit-confirm-question", flex="1 1 auto")
        self.yes = button("labkit-confirm-yes", button_style="warning")
        self.cancel = button("labkit-confirm-cancel", description="Cancel")
        self.widget = hbox(
            [self.question, self.yes, self.cancel],
            "labkit-confirm",
            layout=own_layout(display="none", align_items="center"),
        )
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
        if self.widget.layout.display != "none":  # shown: hide it (else nothing to send)
            self.question.value = ""
            self.widget.layout.display = "none"
