"""A real JupyterLab in a real (headless) browser, for testing labkit's widgets end to end.

The session shares one JupyterLab server (loopback, a random token, its own config, runtime,
data, settings and workspace folders in a temporary directory); every browser test gets a folder
of its own in it, a fresh page in Debian's Chromium driven by Playwright, and its kernels are
shut down when it ends, so nothing is shared between tests. Headless widget tests (``tests/ui``) check the kernel side; these check what a user
sees and does: the widget renders, a slider dragged in the page reaches the instrument, a value
changed in the kernel shows in the page.

Fixtures (``tests/browser/conftest.py``)
----------------------------------------
``lab``
    A :class:`Lab`: the server and a page, with ``lab.artifacts`` (``test-artifacts/browser/
    <test>/``, git-ignored). On failure a screenshot, the server log and the browser console
    are saved there.
``browser`` (per module)
    Playwright's ``Browser`` (Debian's ``/usr/bin/chromium``, or ``$LABKIT_CHROMIUM``). When it
    is missing the browser tests skip with the reason, unless ``LABKIT_REQUIRE_BROWSER=1`` (CI)
    makes them fail. Install it with ``apt-get install -y chromium``.

Writing a browser test
----------------------
::

    @pytest.mark.browser
    def test_panel_slider(lab):
        nb = lab.open_notebook("demo.ipynb", [SETUP_SOURCE, "psu.panel()"])  # waits: kernel idle
        nb.run_all()                                  # raises CellError if a cell failed
        panel = nb.output(1).locator(".labkit-panel")  # what the second code cell displayed
        handle = panel.locator(".labkit-setting-voltage .noUi-handle")
        handle.focus(); handle.press("ArrowRight")
        expect(panel.locator(".labkit-setting-voltage.labkit-readback")).to_contain_text("0.5")
        assert nb.execute("print(sim.value('voltage'))") == "0.5"   # read the kernel's state
        lab.screenshot("after", panel)                # test-artifacts/browser/<test>/after.png

- Wait for conditions, never for time: Playwright's ``expect(...)`` and ``locator.wait_for``
  retry until their timeout; :func:`wait_until` does the same for anything else.
- :meth:`Notebook.execute` runs code in the notebook's own kernel through a second Jupyter
  client and returns what it printed: the reliable way to read kernel-side state (a simulator's
  value, a run's status). What the page sends reaches the kernel a moment later, so to check
  the effect of a click use :meth:`Notebook.wait_for_output` (re-runs the code until it prints
  the expected text). :meth:`Notebook.run_cell` adds a cell in the page and runs it, for code
  whose output (a new widget) should be displayed: ``nb.output(2)`` is its output area.
- Every exception the kernel reports (in a cell, in a widget callback, or a traceback logged
  to stderr from a thread) fails the test at the next ``run_all``, ``run_cell`` or ``execute``
  (:class:`CellError`).
- Selectors that hold: an output area ``.jp-OutputArea-output``; ipywidgets sliders
  ``.widget-slider`` with the handle ``.noUi-handle``; labkit panels ``.labkit-panel`` and, per
  setting or reading, the class ``labkit-setting-<name>`` on its control, read-back and status
  (``.labkit-control``, ``.labkit-readback``, ``.labkit-status``, ``.labkit-error``); bqplot
  figures ``svg.svg-figure``, lines ``path.line``.
- ``LabServer(home, settings={...})`` starts JupyterLab with user settings by plugin id (a
  theme: ``{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}``).
- The readiness race: a fresh notebook's execution indicator says idle before a kernel exists,
  and running cells then opens a "Select Kernel" dialog per cell and runs nothing. The harness
  waits until the status bar reads ``<kernel> | Idle`` (not ``No Kernel``) before anything runs.

A test takes a few seconds: ~4 s to load the page and start the kernel (the server is shared).
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tests.kernel_stacks import dump_threads, kernel_environment, kernel_pid, stacks_folder

__all__ = [
    "CHROMIUM_ARGS",
    "CellError",
    "Lab",
    "LabServer",
    "Notebook",
    "find_chromium",
    "launch_chromium",
    "wait_until",
]

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DISABLED_LAB_PLUGINS = {
    # The news toast covers the bottom right of the page and asks a question.
    "@jupyterlab/apputils-extension:announcements": True,
}
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
KERNEL_IDLE = re.compile(r"^(?!No Kernel).+ \| Idle$")
SERVER_START_TIMEOUT = 60.0
KERNEL_START_TIMEOUT = 60.0
CELL_TIMEOUT = 60.0


class CellError(AssertionError):
    """A cell run by the harness raised; the message holds the traceback shown in the page."""


def kernel_setup(data_prefix: str, body: str = "") -> str:
    """A test kernel's first cell: this repository importable, runs stored in a fresh folder
    of their own (named ``data_prefix…``), numpy and labkit imported; then ``body``."""
    return (
        "\nimport os, sys, tempfile\n"
        f"sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})\n"
        f'os.environ["LABKIT_DATA"] = tempfile.mkdtemp(prefix={data_prefix!r})\n'
        "import numpy as np\n"
        "import labkit\n"
    ) + body


def wait_until(
    condition: Callable[[], Any], *, timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``condition`` until it returns something truthy (returned); TimeoutError after."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout} s for {what or condition!r}")
        time.sleep(interval)


def find_chromium() -> str | None:
    """Debian's Chromium, or the executable ``$LABKIT_CHROMIUM`` names (then only that one)."""
    chosen = os.environ.get("LABKIT_CHROMIUM")
    candidates = [chosen] if chosen else ["/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def launch_chromium(playwright: Any, executable: str) -> Any:
    """Playwright's own browser download does not work here; Debian's package does."""
    return playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """One JupyterLab server on loopback, isolated in ``home`` (config, runtime, settings...).

    ``settings`` are user settings by plugin id, e.g.
    ``{"@jupyterlab/apputils-extension:themes": {"theme": "JupyterLab Dark"}}``.
    """

    def __init__(self, home: Path, settings: dict[str, dict[str, Any]] | None = None) -> None:
        self.home = Path(home)
        self.settings = dict(settings or {})
        self.root = self.home / "notebooks"
        self.runtime = self.home / "runtime"
        self.token = uuid.uuid4().hex
        self.port = 0
        self.log_path = self.home / "server.log"
        self.stacks = stacks_folder(self.home)  # each kernel's threads, on SIGUSR1
        self._process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.home / "config"),
            JUPYTER_DATA_DIR=str(self.home / "data"),
            JUPYTER_RUNTIME_DIR=str(self.runtime),
            JUPYTERLAB_SETTINGS_DIR=str(self.home / "settings"),
            JUPYTERLAB_WORKSPACES_DIR=str(self.home / "workspaces"),
            JUPYTER_PLATFORM_DIRS="1",
            PYTHONUNBUFFERED="1",
        )
        env.update(kernel_environment(self.home))  # stacks on SIGUSR1 (Notebook.diagnosis)
        # Kernels run this interpreter (the one with labkit), whatever PATH said.
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        return env

    def start(self) -> LabServer:
        for folder in ("config/labconfig", "data", "runtime", "settings", "workspaces"):
            (self.home / folder).mkdir(parents=True, exist_ok=True)
        self.root.mkdir(parents=True, exist_ok=True)
        page_config = {"disabledExtensions": DISABLED_LAB_PLUGINS}
        (self.home / "config/labconfig/page_config.json").write_text(json.dumps(page_config))
        for plugin, values in self.settings.items():
            package, _, name = plugin.partition(":")
            path = self.home / "settings" / package / f"{name}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        self.port = _free_port()
        command = [
            sys.executable,
            "-m",
            "jupyter",
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--port-retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.news_url=",
            "--LabServerApp.extension_manager=readonly",
        ]
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self._process = subprocess.Popen(
            command, env=self.environment(), stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"JupyterLab exited with code {self._process.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(OSError):
                if self.api("GET", "/api/status", timeout=1.0) is not None:
                    return self
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"JupyterLab did not answer within {SERVER_START_TIMEOUT} s:\n{self.log_tail()}"
        )

    def api(self, method: str, path: str, *, timeout: float = 10.0) -> Any:
        """Call the server's REST API with the token; the decoded JSON reply (or None)."""
        request = urllib.request.Request(
            self.url + path, method=method, headers={"Authorization": f"token {self.token}"}
        )
        if method == "POST":
            request.data = b""
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read()
        return json.loads(body) if body else {}

    def kernel_id(self, notebook_path: str) -> str | None:
        for session in self.api("GET", "/api/sessions"):
            if session.get("path") == notebook_path and session.get("kernel"):
                return session["kernel"]["id"]
        return None

    def log_tail(self, lines: int = 40) -> str:
        if not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        """``POST /api/shutdown`` (which also ends the kernels), then make sure it is gone."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.poll() is None:
            with contextlib.suppress(OSError, urllib.error.URLError):
                self.api("POST", "/api/shutdown", timeout=5.0)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.terminate()
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._log is not None:
            self._log.close()


class Notebook:
    """A notebook open in the page, with its kernel."""

    def __init__(self, lab: Lab, path: str) -> None:
        self.lab = lab
        self.path = path
        self.page = lab.page
        self.errors: list[str] = []
        self._client: Any = None

    # -- readiness -------------------------------------------------------------------------

    def wait_for_kernel(self, timeout: float = KERNEL_START_TIMEOUT) -> None:
        """Until the status bar reads ``<kernel> | Idle``: a kernel exists and answered."""
        from playwright.sync_api import expect

        status = self.page.locator(".jp-StatusBar-TextItem[title^='Change kernel']")
        expect(status).to_have_text(KERNEL_IDLE, timeout=timeout * 1000)

    # -- running cells ---------------------------------------------------------------------

    @property
    def cells(self) -> Any:
        return self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell")

    @property
    def code_cells(self) -> Any:
        return self.page.locator(
            ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell.jp-CodeCell"
        )

    def output(self, index: int) -> Any:
        """The output area of the ``index``-th code cell (0-based)."""
        return self.code_cells.nth(index).locator(".jp-OutputArea")

    def run_all(self, timeout: float = CELL_TIMEOUT) -> None:
        """Run every cell (menu Run ▸ Run All Cells) and wait until each has finished."""
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        self.page.locator("[data-command='runmenu:run-all']").click()
        self.wait_for_cells(timeout=timeout)

    def prompts(self) -> list[str]:
        """The execution prompt of every code cell (``[3]:``, ``[*]:``, ``[ ]:``)."""
        return self.page.evaluate(
            """() => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                return [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .map(p => p.textContent.trim());
            }"""
        )

    def run_all_again(self, timeout: float = CELL_TIMEOUT) -> None:
        """Run All in a notebook whose cells ran before: wait until every code cell has run
        anew (a new execution count), then check for errors."""
        before = self.prompts()
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
        self.page.locator("[data-command='runmenu:run-all']").click()
        self._wait_for_new_counts(before, range(len(before)), timeout)
        self.raise_cell_errors()

    def run_one_by_one(self, timeout: float = CELL_TIMEOUT) -> None:
        """What a reader does: Shift+Enter from the first cell to the last, each cell waited
        for before the next (markdown cells are rendered on the way)."""
        page = self.page
        self.cells.nth(0).click(position={"x": 2, "y": 2})
        page.keyboard.press("Escape")
        code_index = 0
        count = self.cells.count()
        for index in range(count):
            cell = self.cells.nth(index)
            is_code = "jp-CodeCell" in (cell.get_attribute("class") or "")
            before = self.prompts()
            # Shift+Enter on the last cell would add an empty one below: Ctrl+Enter runs it.
            page.keyboard.press("Shift+Enter" if index < count - 1 else "Control+Enter")
            if is_code:
                self._wait_for_new_counts(before, [code_index], timeout)
                self.raise_cell_errors()
                code_index += 1

    def _wait_for_new_counts(self, before: list[str], which: Any, timeout: float) -> None:
        with self._diagnosed(f"cells {list(which)}"):
            self._wait_for_counts(before, which, timeout)

    @contextlib.contextmanager
    def _diagnosed(self, what: str) -> Iterator[None]:
        """A page that waited in vain says whether the kernel was stuck or the page was only
        told nothing: the kernel is asked directly (a second client) whether it is free, and
        every one of its threads' stacks is written to the test's artifacts."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            yield
        except PlaywrightTimeout as error:
            raise AssertionError(
                f"{what} never finished on the page: {self.diagnosis()}"
            ) from error

    def diagnosis(self) -> str:
        """Is the notebook's kernel free (answers a side client), and where are its threads?"""
        stacks = self.lab.artifacts / "kernel-threads.txt"
        try:
            kernel_id = self.lab.server.kernel_id(self.path)
            pid = kernel_pid(kernel_id) if kernel_id else None
            if pid is not None:
                dump_threads(pid, self.lab.server.stacks, stacks)
        except Exception as failure:  # a diagnosis must not hide the failure it explains
            return f"(no diagnosis: {failure!r})"
        try:
            self.execute("None", timeout=20)
        except Exception as failure:
            state = f"the kernel did not answer a side client either ({failure!r}): it is stuck"
        else:
            state = (
                "the kernel is free (it answered a side client at once): it finished, and the "
                "page was not told"
            )
        return f"{state}; its threads' stacks: {stacks if stacks.exists() else 'none'}"

    def _wait_for_counts(self, before: list[str], which: Any, timeout: float) -> None:
        indices = list(which)
        self.page.wait_for_function(
            r"""([before, indices]) => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                    .map(p => p.textContent.trim());
                return indices.every(i => /\[\d+\]/.test(prompts[i]) && prompts[i] !== before[i]);
            }""",
            arg=[before, indices],
            timeout=timeout * 1000,
        )

    def wait_for_cells(self, timeout: float = CELL_TIMEOUT) -> None:
        """Until every code cell shows an execution count (``[3]:``), then check for errors."""
        with self._diagnosed("the notebook's cells"):
            self._wait_for_all_counts(timeout)
        self.raise_cell_errors()

    def _wait_for_all_counts(self, timeout: float) -> None:
        self.page.wait_for_function(
            """() => {
                const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
                if (!panel) return false;
                const prompts = panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt');
                return prompts.length > 0 &&
                    [...prompts].every(p => /\\[\\d+\\]/.test(p.textContent));
            }""",
            timeout=timeout * 1000,
        )

    def run_cell(self, source: str, timeout: float = CELL_TIMEOUT) -> Any:
        """Append a code cell holding ``source``, run it, wait; returns its output locator."""
        page = self.page
        count = self.cells.count()
        self.cells.nth(count - 1).locator(".jp-InputPrompt").click()
        page.keyboard.press("Escape")
        page.keyboard.press("b")  # command mode: insert a cell below and select it
        wait_until(lambda: self.cells.count() == count + 1, what="the new cell")
        new = self.cells.nth(count)
        new.locator(".cm-content").click()
        # insert_text types no keys: no auto-closed brackets, no auto-indent.
        page.keyboard.insert_text(source)
        page.keyboard.press("Shift+Enter")
        prompt = new.locator(".jp-InputPrompt")
        from playwright.sync_api import expect

        expect(prompt).to_have_text(re.compile(r"\[\d+\]"), timeout=timeout * 1000)
        self.raise_cell_errors()
        return new.locator(".jp-OutputArea")

    def raise_cell_errors(self) -> None:
        """Raise :class:`CellError` if the kernel reported an exception since the last check.

        The page renders a traceback like any stderr output, so the kernel's own ``error``
        messages are the reliable sign: they also catch exceptions raised in widget callbacks.
        """
        self._collect_errors()
        if self.errors:
            failures, self.errors = self.errors, []
            raise CellError("the kernel reported an exception:\n" + "\n---\n".join(failures))

    def _collect_errors(self, budget: float = 0.2) -> None:
        # Drain what has arrived, for at most ``budget`` seconds: a live view sends widget
        # messages 25 times a second, so "until the channel is quiet" may mean "until the
        # run ends". Whatever is left is read at the next check.
        client = self.kernel_client()
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            try:
                message = client.get_iopub_msg(timeout=0.05)
            except queue.Empty:
                return
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "error":
                self.errors.append(_ANSI.sub("", "\n".join(content["traceback"])))
            elif kind == "stream" and "Traceback (most recent call last)" in content["text"]:
                self.errors.append(content["text"])  # logged from a thread or a callback

    # -- the kernel, directly --------------------------------------------------------------

    def kernel_client(self) -> Any:
        """A second Jupyter client of the notebook's kernel (shares its namespace)."""
        if self._client is None:
            from jupyter_client import BlockingKernelClient

            kernel_id = wait_until(
                lambda: self.lab.server.kernel_id(self.path), what=f"a kernel for {self.path}"
            )
            connection = self.lab.server.runtime / f"kernel-{kernel_id}.json"
            client = BlockingKernelClient(connection_file=str(connection))
            client.load_connection_file()
            client.start_channels()
            client.wait_for_ready(timeout=30)
            self._client = client
        return self._client

    def execute(self, code: str, timeout: float = 30.0) -> str:
        """Run ``code`` in the notebook's kernel and return what it printed (stripped).

        An exception in ``code`` raises :class:`CellError` with the traceback.
        """
        self.raise_cell_errors()  # execute_interactive skips other cells' messages: check first
        printed: list[str] = []
        failure: list[str] = []

        def on_output(message: dict[str, Any]) -> None:
            kind, content = message["header"]["msg_type"], message["content"]
            if kind == "stream":
                printed.append(content["text"])
            elif kind in ("execute_result", "display_data"):
                printed.append(content["data"].get("text/plain", "") + "\n")
            elif kind == "error":
                failure.append("\n".join(content["traceback"]))

        reply = self.kernel_client().execute_interactive(
            code, output_hook=on_output, timeout=timeout, store_history=False
        )
        if failure or reply["content"]["status"] != "ok":
            raise CellError(f"{code!r} failed in the kernel:\n" + _ANSI.sub("", "\n".join(failure)))
        return "".join(printed).strip()

    def wait_for_output(self, code: str, expected: str, timeout: float = 10.0) -> str:
        """Run ``code`` in the kernel until it prints ``expected`` (page → kernel takes time)."""
        seen: list[str] = []

        def printed_expected() -> bool:
            seen.append(self.execute(code))
            return seen[-1] == expected

        try:
            wait_until(printed_expected, timeout=timeout, interval=0.1)
        except TimeoutError:
            raise AssertionError(
                f"{code!r} printed {seen[-1]!r}, not {expected!r}, for {timeout} s"
            ) from None
        return seen[-1]

    def close(self) -> None:
        if self._client is not None:
            self._client.stop_channels()
            self._client = None


class Lab:
    """A JupyterLab server and a browser page on it, with a folder for artifacts.

    ``folder`` (in the server's root) holds the test's notebooks, so that tests sharing one
    server never open each other's; :meth:`shutdown_kernels` ends the kernels they started.
    """

    def __init__(self, server: LabServer, page: Any, artifacts: Path, folder: str = "") -> None:
        self.server = server
        self.page = page
        self.artifacts = artifacts
        self.folder = folder
        self.console: list[str] = []
        self.notebooks: list[Notebook] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    def path(self, name: str) -> str:
        """``name`` in the test's folder, as the server names it."""
        return f"{self.folder}/{name}" if self.folder else name

    def write_notebook(self, path: str, cells: Sequence[str]) -> Path:
        """Write a notebook of code cells (a ``str`` starting with ``#md`` is Markdown)."""
        import nbformat

        notebook = nbformat.v4.new_notebook()
        notebook.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        for source in cells:
            if source.startswith("#md\n"):
                notebook.cells.append(nbformat.v4.new_markdown_cell(source[4:]))
            else:
                notebook.cells.append(nbformat.v4.new_code_cell(source))
        target = self.server.root / self.path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        return target

    def open_notebook(self, path: str, cells: Sequence[str] | None = None) -> Notebook:
        """(Write and) open ``path`` in JupyterLab and wait until its kernel is really idle."""
        if cells is not None:
            self.write_notebook(path, cells)
        path = self.path(path)
        url = f"{self.server.url}/lab/tree/{path}?reset&token={self.server.token}"
        self.page.goto(url)
        notebook = Notebook(self, path)
        self.notebooks.append(notebook)
        notebook.wait_for_kernel()
        notebook.kernel_client()  # listening from now on: exceptions in cells are reported
        return notebook

    def screenshot(self, name: str, locator: Any = None) -> Path:
        """Save a PNG of the page (or of one element) as ``<artifacts>/<name>.png``."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        path = self.artifacts / f"{name}.png"
        (locator or self.page).screenshot(path=str(path))
        return path

    def save_diagnostics(self) -> None:
        """What a failed test leaves behind: a screenshot, the server log, the console."""
        self.artifacts.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(Exception):
            self.screenshot("failure")
        (self.artifacts / "server.log").write_text(self.server.log_tail(10_000))
        (self.artifacts / "console.log").write_text("\n".join(self.console))

    def close(self) -> None:
        for notebook in self.notebooks:
            with contextlib.suppress(Exception):
                notebook.close()

    def shutdown_kernels(self) -> None:
        """End the sessions (and kernels) of this test's notebooks on the shared server."""
        with contextlib.suppress(OSError, urllib.error.URLError):
            for session in self.server.api("GET", "/api/sessions"):
                if session.get("path", "").startswith(f"{self.folder}/") or not self.folder:
                    with contextlib.suppress(OSError, urllib.error.URLError):
                        self.server.api("DELETE", f"/api/sessions/{session['id']}")
