"""The image's last build step: import every module a compiled task can name.

A compiled task imports its executor class and user functions by dotted path
(`--executor_class_path`, `preprocessing_fn`, `run_fn`), all inside the packages
below. Importing every module of them, after the sources are removed, proves the
installed package and the locked runtime packages resolve each of those paths;
walking the packages instead of listing modules means a new executor is covered
the day it is added (`tests/test_kfp_conformance.py` checks the compiled spec
names no module outside them).

    python -m newlevels.kubeflow.image_check
"""

from __future__ import annotations

import importlib
import pkgutil

#: the packages whose modules compiled tasks import: components (executors,
#: run_fn) and transforms (preprocessing_fn).
TASK_PACKAGES = ("newlevels.components", "newlevels.transforms")


def task_modules() -> list[str]:
    """Every module of `TASK_PACKAGES`, packages included, sorted.

    Raises:
        ImportError: if a package (or a subpackage, which the walk imports) fails to import.
    """
    names = []
    for name in TASK_PACKAGES:
        package = importlib.import_module(name)
        names.append(name)
        names.extend(info.name for info in pkgutil.walk_packages(package.__path__, f"{name}."))
    return sorted(names)


def main() -> None:
    """Imports every task module; an import error fails the image build."""
    names = task_modules()
    for name in names:
        importlib.import_module(name)
    print(f"newlevels image check: imported {len(names)} task modules")


if __name__ == "__main__":
    main()
