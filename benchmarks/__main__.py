"""``python -m benchmarks [NAME ...] [--quick]``: run the named benchmarks (default: all).

Each benchmark prints its table and writes it under ``benchmarks/results/`` (gitignored).
"""

from __future__ import annotations

import argparse
import sys

from . import loop, planted

BENCHMARKS = {"planted": planted.main, "loop": loop.main}
"""Benchmarks by name; each is ``main(quick: bool) -> str`` and returns its printed table."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run, from {sorted(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer seeds and sizes: a smoke run of a minute or two")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {unknown}; choose from {sorted(BENCHMARKS)}")
    for name in args.names or list(BENCHMARKS):
        BENCHMARKS[name](quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
