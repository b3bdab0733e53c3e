"""A cell that never ends is reported as such: the harness asks the kernel directly whether it
is free and writes its threads' stacks beside the screenshots, so a page that waits in vain
says whether the kernel was stuck or the page was only never told."""

from __future__ import annotations

import pytest

from tests.browser.harness import Lab

pytestmark = pytest.mark.browser


def test_a_cell_that_never_ends_is_diagnosed_as_a_stuck_kernel_with_its_stacks(lab: Lab) -> None:
    nb = lab.open_notebook(
        "stuck.ipynb", ["import threading\nthreading.Event().wait()  # never set"]
    )
    with pytest.raises(AssertionError) as failure:
        nb.run_one_by_one(timeout=3)
    message = str(failure.value)
    assert "it is stuck" in message
    stacks = lab.artifacts / "kernel-threads.txt"
    assert stacks.is_file()
    text = stacks.read_text()
    assert "Current thread" in text or "Thread 0x" in text
    assert "wait" in text
    lab.page.keyboard.press("i")  # interrupt, so that the kernel can shut down
    lab.page.keyboard.press("i")
