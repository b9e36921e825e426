"""The built wheel installs one import name, `newlevels`, and its console script (issue 14).

The wheel is built from this checkout and installed, without dependencies, into a
fresh virtual environment: what it puts there is all ours. `import newlevels` is
light (no TensorFlow or TFX at import), so it works there; generic names that a
TFX project may own (`pipeline`, `components`, ...) are not ours to install.
"""

from __future__ import annotations

import subprocess
import zipfile

from tests.test_image_recipe import REPO, find_uv

#: top-level names earlier releases installed, which a user's TFX project may own.
GENERIC = ("pipeline", "components", "transforms", "kubeflow", "benchmarks", "bench", "cli")


def test_the_wheel_installs_only_newlevels_and_its_console_script(tmp_path):
    uv = find_uv()
    out = tmp_path / "dist"
    subprocess.run(
        [*uv, "build", "--wheel", "--out-dir", str(out), str(REPO)], check=True, capture_output=True
    )
    (wheel,) = out.glob("newlevels-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        top = {name.split("/", 1)[0] for name in archive.namelist()}
        entry_points = next(n for n in archive.namelist() if n.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    assert {name for name in top if not name.endswith(".dist-info")} == {"newlevels"}
    assert "newlevels = newlevels.cli:main" in scripts

    venv = tmp_path / "venv"
    subprocess.run([*uv, "venv", "--python", "3.10", str(venv)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    subprocess.run(
        [*uv, "pip", "install", "--no-deps", "--python", python, str(wheel)],
        check=True,
        capture_output=True,
    )
    assert (venv / "bin" / "newlevels").is_file()
    probe = (
        "import importlib.util, newlevels; "
        f"print([n for n in {GENERIC!r} if importlib.util.find_spec(n)])"
    )
    found = subprocess.run(
        [python, "-c", probe], cwd=tmp_path, check=True, capture_output=True, text=True
    )
    assert found.stdout.strip() == "[]"
