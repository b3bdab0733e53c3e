"""The test kernels' own diagnosis works: a cell that runs too long writes every thread's
stack by itself, and SIGUSR1 writes them on request, while the main thread is blocked."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from tests.kernel_stacks import kernel_environment, stacks_of


@pytest.mark.timeout(120)
def test_a_long_cell_writes_the_kernels_stacks_and_sigusr1_does_on_request(
    tmp_path: Path,
) -> None:
    manager_module = pytest.importorskip("jupyter_client.manager")
    manager = manager_module.KernelManager(kernel_name="python3")
    manager.start_kernel(env={**os.environ, **kernel_environment(tmp_path, dump_after=0.5)})
    client = manager.client()
    client.start_channels()
    try:
        client.wait_for_ready(timeout=60)
        reply = client.execute_interactive(
            "import time\ndef stuck_in_a_cell():\n    time.sleep(2)\nstuck_in_a_cell()",
            timeout=60,
            output_hook=lambda message: None,
        )
        assert reply["content"]["status"] == "ok"
        written = stacks_of(tmp_path)
        assert "stuck_in_a_cell" in written, written  # the cell's own frame, by itself
        client.execute_interactive("pass", timeout=60, output_hook=lambda message: None)
        assert stacks_of(tmp_path) == written  # a quick cell writes nothing

        os.kill(manager.provisioner.process.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while stacks_of(tmp_path) == written and time.monotonic() < deadline:
            time.sleep(0.05)
        after = stacks_of(tmp_path)
        assert after != written  # appended on request, the kernel idle between cells
        assert "Thread 0x" in after
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
