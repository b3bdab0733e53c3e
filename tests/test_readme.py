"""The README is the front door: its commands must be the ones CI and the code actually use."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def readme_commands() -> list[str]:
    block = re.search(r"## Two commands.*?```bash\n(.*?)```", README, re.S)
    assert block, "the README must show its two commands in a bash block"
    return [line for line in block.group(1).splitlines() if line and not line.startswith("#")]


def test_the_readme_gives_two_commands() -> None:
    install_and_run, run_tests = readme_commands()
    assert "labkit lab" in install_and_run
    assert "pytest" in run_tests


def test_ci_runs_exactly_the_readmes_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()


def test_the_ten_line_example_runs_in_a_fresh_interpreter() -> None:
    example = re.search(r"## Ten lines\n\n```python\n(.*?)```", README, re.S)
    assert example
    code = example.group(1).replace("psu.panel()", "print(psu.voltage, psu.snapshot()['name'])")
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["1.5", "power_supply"]
