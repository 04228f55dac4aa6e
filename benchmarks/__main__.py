"""``python -m benchmarks [NAME ...] [--quick] [OPTIONS]``: run the named benchmarks
(default: all).

Each benchmark prints its table and writes it under ``benchmarks/results/`` (gitignored).
Other options go to the one benchmark named, e.g. ``python -m benchmarks loop --seeds 5``
(``python -m benchmarks loop --help`` lists them).
"""

from __future__ import annotations

import argparse
import sys

from . import bias, coverage, loop, mapspace, media, planted, pool, regiontime, scale, shapes

BENCHMARKS = {"planted": planted.main, "loop": loop.main, "bias": bias.main,
              "shapes": shapes.main, "coverage": coverage.main, "media": media.main,
              "scale": scale.main, "pool": pool.main, "mapspace": mapspace.main,
              "regiontime": regiontime.main}
"""Benchmarks by name; each is ``main(argv, quick: bool) -> str`` and returns its printed
table."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     add_help=False)
    parser.add_argument("-h", "--help", action="store_true",
                        help="this help, or a named benchmark's options")
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run, from {sorted(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer seeds and sizes: a smoke run of a minute or two")
    args, options = parser.parse_known_args(argv)
    unknown = sorted(set(args.names) - set(BENCHMARKS))
    if unknown:
        parser.error(f"unknown benchmark {unknown}; choose from {sorted(BENCHMARKS)}")
    if args.help and len(args.names) != 1:
        parser.print_help()
        return 0
    names = args.names or list(BENCHMARKS)
    if args.help:
        options.append("--help")
    if options and len(names) != 1:
        parser.error(f"options {options} need exactly one benchmark name before them")
    for name in names:
        BENCHMARKS[name](options, quick=args.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
