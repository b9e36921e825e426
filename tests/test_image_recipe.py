"""newlevels/kubeflow/Dockerfile installs this package with exactly uv.lock's runtime dependencies.

No docker engine runs here: the recipe is read, and its `uv export` command is run
on the files it copies, then compared with the lock's own dependency closure.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomli

REPO = Path(__file__).resolve().parents[1]
DOCKERFILE = REPO / "newlevels" / "kubeflow" / "Dockerfile"


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    lines = [
        line.strip()
        for line in DOCKERFILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    joined, pending = [], ""
    for line in lines:
        if line.endswith("\\"):
            pending += line[:-1] + " "
        else:
            joined.append(pending + line)
            pending = ""
    return [tuple(line.split(None, 1)) for line in joined]


def shell_commands() -> list[list[str]]:
    """Every `&&`-separated command of every RUN, as argv."""
    runs = [args for name, args in instructions() if name == "RUN"]
    return [shlex.split(part) for run in runs for part in run.split("&&")]


def command(prefix: tuple[str, ...], *must_hold: str) -> list[str]:
    found = [argv for argv in shell_commands() if tuple(argv[: len(prefix)]) == prefix]
    found = [argv for argv in found if all(flag in argv for flag in must_hold)]
    assert len(found) == 1, f"expected one {' '.join(prefix)} with {must_hold}: {found}"
    return found[0]


def lock() -> dict:
    with open(REPO / "uv.lock", "rb") as handle:
        return tomli.load(handle)


def pyproject() -> dict:
    with open(REPO / "pyproject.toml", "rb") as handle:
        return tomli.load(handle)


def runtime_closure(locked: dict) -> set[str]:
    """The project's non-dev dependencies in the lock, transitively (extras followed)."""
    packages = {normalize(p["name"]): p for p in locked["package"]}
    project = normalize(pyproject()["project"]["name"])
    todo = list(packages[project].get("dependencies", []))
    seen: set[str] = set()
    while todo:
        dependency = todo.pop()
        name = normalize(dependency["name"])
        package = packages[name]
        if name not in seen:
            seen.add(name)
            todo.extend(package.get("dependencies", []))
        for extra in dependency.get("extra", []):
            todo.extend(package.get("optional-dependencies", {}).get(extra, []))
    return seen


def find_uv() -> list[str]:
    """uv as `./dev` finds it: `python -m uv` with the Python 3.10 that made `.venv`, then
    `.uv-bootstrap/bin/uv` (where `./dev` installs uv when that Python has none).

    Raises:
        pytest.fail: if neither runs (`./dev` sets one of them up before running the tests).
    """
    python = os.path.join(
        sys.base_prefix, "bin", f"python{sys.version_info[0]}.{sys.version_info[1]}"
    )
    for command in ([python, "-m", "uv"], [str(REPO / ".uv-bootstrap" / "bin" / "uv")]):
        try:
            found = subprocess.run([*command, "--version"], capture_output=True, check=False)
        except OSError:
            continue
        if found.returncode == 0:
            return command
    pytest.fail(f"uv not found as ./dev finds it ({python} -m uv, .uv-bootstrap/bin/uv)")


def exported_pins(tmp_path: Path) -> dict[str, tuple[str, bool]]:
    """Runs the recipe's `uv export` on the files it copies: name -> (version, hashed)."""
    uv = find_uv()
    copied = [
        args.split()[:-1]
        for name, args in instructions()
        if name == "COPY" and "--from" not in args
    ]
    for sources in copied:
        for source in sources:
            if (REPO / source).is_file():
                shutil.copy(REPO / source, tmp_path / source)
    argv = command(("uv", "export"))
    subprocess.run([*uv, *argv[1:]], cwd=tmp_path, check=True, capture_output=True)
    output = argv[argv.index("--output-file") + 1]
    text = (tmp_path / output).read_text(encoding="utf-8")
    pins = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;\\]+)", block)
        if match:
            pins[normalize(match.group(1))] = (match.group(2), "--hash=sha256:" in block)
    return pins


def test_image_is_the_tfx_release_the_lock_pins():
    versions = {normalize(p["name"]): p["version"] for p in lock()["package"]}
    bases = [args for name, args in instructions() if name == "FROM"]
    assert bases == [f"gcr.io/tfx-oss-public/tfx:{versions['tfx']}"]


def test_recipe_copies_the_lock_and_every_packaged_folder():
    copied = set()
    for name, args in instructions():
        if name == "COPY" and "--from" not in args:
            copied.update(Path(source).as_posix() for source in args.split()[:-1])
    packaged = pyproject()["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    assert {"pyproject.toml", "uv.lock", "README.md", *packaged} <= copied


def test_recipe_installs_exactly_the_locked_runtime_packages_by_hash(tmp_path):
    export = command(("uv", "export"))
    assert {"--frozen", "--no-dev", "--no-emit-project"} <= set(export)
    requirements = export[export.index("--output-file") + 1]
    command(("uv", "pip", "install"), "--require-hashes", "--no-deps", "-r", requirements)
    project = command(("uv", "pip", "install"), ".")
    assert "--no-deps" in project

    locked = lock()
    versions = {normalize(p["name"]): p["version"] for p in locked["package"]}
    pins = exported_pins(tmp_path)
    assert set(pins) == runtime_closure(locked)
    assert {name: version for name, (version, _) in pins.items()} == {
        name: versions[name] for name in pins
    }
    assert all(hashed for _, hashed in pins.values())
    dev = {normalize(re.split(r"[<>=\[ ]", d)[0]) for d in pyproject()["dependency-groups"]["dev"]}
    assert dev.isdisjoint(pins)
    assert pins["tfx"][0] == "1.16.0"
