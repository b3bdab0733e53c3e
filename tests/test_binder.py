"""Binder's configuration (binder/) is consistent with the project, and is enough on its own.

repo2docker builds the image from binder/: it installs ``runtime.txt``'s Python,
``apt.txt``'s Debian packages and ``requirements.txt``, then runs ``postBuild``, which installs
labkit with ``--no-deps``. The slow test rebuilds that environment in a fresh virtual
environment (no Docker here) and runs every notebook in it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

tomllib = pytest.importorskip("tomllib" if sys.version_info >= (3, 11) else "tomli")
requirements = pytest.importorskip("packaging.requirements")
utils = pytest.importorskip("packaging.utils")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]


def _binder_requirements() -> dict[str, requirements.Requirement]:
    found = {}
    for line in (BINDER / "requirements.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = requirements.Requirement(line)
            found[utils.canonicalize_name(requirement.name)] = requirement
    return found


def _needed(extra: str, project: dict, seen: set[str] | None = None) -> list:
    """The requirements of an extra, following ``labkit[other]`` references."""
    seen = set() if seen is None else seen
    seen.add(extra)
    needed = []
    for text in project["optional-dependencies"][extra]:
        requirement = requirements.Requirement(text)
        if utils.canonicalize_name(requirement.name) == "labkit":
            for other in requirement.extras - seen:
                needed += _needed(other, project, seen)
        else:
            needed.append(requirement)
    return needed


def test_runtime_is_a_python_the_project_supports() -> None:
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    match = re.fullmatch(r"python-(\d+)\.(\d+)", runtime)
    assert match, f"runtime.txt says {runtime!r}; repo2docker wants python-X.Y"
    specifier = requirements.Requirement(f"python{_project()['requires-python']}").specifier
    assert specifier.contains(f"{match[1]}.{match[2]}.0"), (runtime, str(specifier))


def test_requirements_cover_the_dependencies_and_the_lab_extra() -> None:
    """Same names and same specifiers as pyproject.toml: postBuild adds nothing (--no-deps)."""
    project = _project()
    binder = _binder_requirements()
    wanted = [requirements.Requirement(t) for t in project["dependencies"]]
    wanted += _needed("lab", project)
    problems = []
    for requirement in wanted:
        if requirement.marker is not None and not requirement.marker.evaluate(
            {"python_version": "3.11"}
        ):
            continue  # e.g. tomli, for Pythons older than Binder's
        name = utils.canonicalize_name(requirement.name)
        if name not in binder:
            problems.append(f"{requirement} is missing")
        elif binder[name].specifier != requirement.specifier:
            problems.append(f"{binder[name]} differs from pyproject's {requirement}")
        elif not requirement.extras <= binder[name].extras:
            problems.append(f"{binder[name]} lacks the extras of {requirement}")
    assert not problems, "binder/requirements.txt: " + "; ".join(problems)


def test_postbuild_installs_the_repository() -> None:
    script = BINDER / "postBuild"
    assert os.access(script, os.X_OK), "postBuild must be executable"
    text = script.read_text(encoding="utf-8")
    assert text.startswith("#!/bin/bash"), "postBuild runs as a script"
    assert "set -e" in text, "a failing install must fail the build"
    commands = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert any(re.search(r"pip install .*--no-deps \.$", line) for line in commands), commands


def test_apt_installs_libusb() -> None:
    packages = (BINDER / "apt.txt").read_text(encoding="utf-8").split()
    assert "libusb-1.0-0" in packages


def test_repo2docker_detects_the_configuration() -> None:
    """repo2docker (no Docker needed with --no-build) reads binder/ and writes a Dockerfile."""
    repo2docker = shutil.which("repo2docker", path=str(Path(sys.executable).parent))
    repo2docker = repo2docker or shutil.which("repo2docker")
    if repo2docker is None:
        pytest.skip("repo2docker is not installed (pip install jupyter-repo2docker)")
    result = subprocess.run(
        [repo2docker, "--no-build", "--debug", str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    dockerfile, log = result.stdout, result.stderr
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip()
    version = runtime.removeprefix("python-")
    assert f"python={version}" in log or f"py-{version}" in dockerfile, log[-2000:]
    assert 'pip install --no-cache-dir -r "binder/requirements.txt"' in dockerfile
    assert "libusb-1.0-0" in dockerfile
    assert "./binder/postBuild" in dockerfile


# -- the environment from binder/ alone runs every notebook ----------------------------------


def _copy_repository(target: Path) -> Path:
    """What repo2docker copies into the image: the repository, without local build state."""
    ignore = shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", "*.so", ".*_cache",
        ".ipynb_checkpoints", "_build",
    )  # fmt: skip
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _run(command: list[str], **options) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, capture_output=True, text=True, **options)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def binder_env(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A fresh venv made as repo2docker makes the image: requirements.txt, then postBuild."""
    runtime = (BINDER / "runtime.txt").read_text(encoding="utf-8").strip().removeprefix("python-")
    if f"{sys.version_info.major}.{sys.version_info.minor}" != runtime:
        pytest.skip(f"Binder uses Python {runtime}; this is {sys.version.split()[0]}")
    base = tmp_path_factory.mktemp("binder")
    repo = _copy_repository(base / "repo")
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], timeout=120)
    python = venv / "bin" / "python"
    env = {
        **os.environ,
        "PATH": f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    env.pop("PYTHONPATH", None)
    pip = [str(python), "-m", "pip", "install", "-q"]
    _run([*pip, "-U", "pip"], env=env, timeout=300)
    _run([*pip, "-r", str(repo / "binder" / "requirements.txt")], env=env, timeout=900)
    _run([str(repo / "binder" / "postBuild")], cwd=repo, env=env, timeout=600)
    # A kernel in that environment, for nbclient in this one.
    kernels = base / "jupyter"
    spec = kernels / "kernels" / "labkit-binder"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(
        json.dumps({"argv": argv, "display_name": "labkit (Binder)", "language": "python"})
    )
    return {"python": python, "repo": repo, "env": env, "jupyter_path": kernels}


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the first test builds the environment
def test_labkit_in_the_binder_environment_is_the_installed_package_with_its_extension(
    binder_env: dict,
) -> None:
    code = (
        "import json, labkit, labkit.native; "
        "print(json.dumps({'file': labkit.__file__, 'backend': labkit.native.backend}))"
    )
    result = _run(
        [str(binder_env["python"]), "-c", code],
        cwd=binder_env["repo"] / "notebooks",
        env=binder_env["env"],
        timeout=120,
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert "site-packages" in found["file"], found
    assert found["backend"] == "c", "the C extension did not build in the Binder environment"


@pytest.mark.slow
@pytest.mark.notebook
@pytest.mark.timeout(1800)  # ... or this one, when run alone
@pytest.mark.parametrize("name", [p.name for p in NOTEBOOKS], ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_the_binder_environment(
    name: str, binder_env: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("JUPYTER_PATH", str(binder_env["jupyter_path"]))
    monkeypatch.setenv("PATH", binder_env["env"]["PATH"])
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "data"))
    monkeypatch.delenv("LABKIT_PLUGIN_PATH", raising=False)
    folder = binder_env["repo"] / "notebooks"
    notebook = nbformat.read(folder / name, as_version=4)
    client = nbclient.NotebookClient(
        notebook,
        timeout=120,
        kernel_name="labkit-binder",
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute()
    errors = [
        o
        for c in notebook.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.get("output_type") == "error"
    ]
    assert not errors, json.dumps(errors, indent=1)[:3000]
