"""`python -m examples.own_pipeline --work DIR --span N`: writes span N's clicks, then runs.

Run span 1, then span 2, from the repository's root (the example is not installed
with the package); span 2 extends the model span 1 pushed.
"""

from __future__ import annotations

import argparse
import os

from examples.own_pipeline import data, pipeline


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m examples.own_pipeline")
    parser.add_argument("--work", required=True, help="workdir: data/, tfx/, serving/, MLMD")
    parser.add_argument("--span", type=int, choices=sorted(data.ROWS), required=True)
    args = parser.parse_args()
    data_root = os.path.join(args.work, "data")
    print(f"wrote {data.write_span(data_root, args.span)}")
    pipeline.run(args.work, data_root)
    print(f"serving: {sorted(os.listdir(os.path.join(args.work, 'serving')))}")


if __name__ == "__main__":
    main()
