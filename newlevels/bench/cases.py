"""Runs one benchmark case in this fresh process: `python -m newlevels.bench.cases NAME JSON`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from newlevels.bench import common, first_fit, scaling, serving, transform_alternatives

CASES: dict[str, Callable[..., dict[str, Any]]] = {
    "b2_step": scaling.step_case,
    "b3_first_fit": first_fit.fit_case,
    "b5_tiny_serving": serving.tiny_case,
    "b5_pushed_serving": serving.pushed_case,
    "span_transform": transform_alternatives.transform_case,
}


def main(argv: list[str]) -> None:
    name, params = argv[0], json.loads(argv[1])
    result = CASES[name](**params)
    print(common.RESULT_PREFIX + json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
