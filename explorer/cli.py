"""The ``explorer`` command (also ``python -m explorer``).

Each subcommand is one function that adds its parser to the subparsers and sets its handler;
:func:`subcommand` registers it, so a new command (``init``, ``suggest``, ``ingest`` ...) is
one decorated function and one handler, with no change to :func:`main`. A handler is called
as ``handler(args, out, err)`` with the output streams passed in (tests capture them) and
returns the exit code.

User errors (:class:`~explorer.errors.ExplorerError`) become exit code 2 and one line on
stderr, ``explorer: error: <message>``, as argparse does for bad usage; Ctrl-C exits with 130.
Progress goes to stderr and results to stdout, so ``explorer analyze ... > summary.txt``
keeps only the summary.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Callable, TextIO

from .errors import DatasetNotFoundError, ExplorerError, ParameterError
from .export import output_names

__all__ = ["main", "build_parser", "subcommand", "streamlit_command", "APP_PATH"]

APP_PATH = Path(__file__).parent / "app" / "Home.py"

_COMMANDS: list[Callable] = []


def subcommand(add_parser: Callable) -> Callable:
    """Register ``add_parser(subparsers)``, which adds one subcommand and its handler.

    The function must call ``subparsers.add_parser(name, ...)`` and
    ``parser.set_defaults(handler=...)``; a command that forwards unknown options (like
    ``app``) also sets ``accepts_extra=True`` and reads them from ``args.extra``.
    """
    _COMMANDS.append(add_parser)
    return add_parser


def build_parser() -> argparse.ArgumentParser:
    """Return the parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="explorer",
        description="Find where a model fails, say why, and say what data to collect next.")
    subparsers = parser.add_subparsers(title="commands", dest="command", metavar="COMMAND",
                                       required=True)
    for add_parser in _COMMANDS:
        add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None, *, stdout: TextIO | None = None,
         stderr: TextIO | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    parser = build_parser()
    try:
        with redirect_stdout(out), redirect_stderr(err):  # argparse writes to sys.std*
            args, extra = parser.parse_known_args(argv)
            if extra and not getattr(args, "accepts_extra", False):
                parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exit_:  # --help (0) or a usage error (2), already printed
        return exit_.code if isinstance(exit_.code, int) else 2
    args.extra = extra
    try:
        return args.handler(args, out, err)
    except ExplorerError as exc:
        message = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        err.write(f"explorer: error: {message}\n")
        return 2
    except KeyboardInterrupt:
        err.write("explorer: interrupted\n")
        return 130


def _columns(text: str) -> list[str]:
    """argparse type for ``A,B,C`` column lists."""
    columns = [c.strip() for c in text.split(",") if c.strip()]
    if not columns:
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return columns


# --- analyze -------------------------------------------------------------------------------

@subcommand
def _add_analyze(subparsers) -> None:
    parser = subparsers.add_parser(
        "analyze", help="find and describe where a model fails; write the results to a folder",
        description="Find the regions where a model errs, test them on held-out rows, "
                    "describe them, and write regions.json, points.csv and report.html.")
    parser.add_argument("data", metavar="DATA",
                        help="a .csv or .parquet file, or a built-in dataset name "
                             "(see 'explorer datasets')")
    parser.add_argument("--target", metavar="COL",
                        help="the label column (default for a built-in: its label)")
    parser.add_argument("--prediction", metavar="COL",
                        help="the model's predictions; without it a baseline model is "
                             "trained and its out-of-fold predictions are used")
    parser.add_argument("--probabilities", type=_columns, metavar="A,B",
                        help="class-probability columns, in sorted class order")
    parser.add_argument("--features", type=_columns, metavar="A,B",
                        help="feature columns (default: every other usable column)")
    parser.add_argument("--embedding", type=_columns, metavar="A,B",
                        help="precomputed embedding columns to map instead of the features")
    parser.add_argument("--groups", type=_columns, metavar="A,B",
                        help="columns reported per region (e.g. sex), not used by the model")
    parser.add_argument("--pool", metavar="POOL",
                        help="unlabelled rows (.csv or .parquet) to rank for labelling")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of every random step (default: 0)")
    parser.add_argument("--task", choices=("classification", "regression"),
                        help="default: inferred from the target")
    parser.add_argument("--alpha", type=float, default=0.05, metavar="F",
                        help="false discovery rate of the region tests (default: 0.05)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="folder for the results (created if missing)")
    parser.set_defaults(handler=_run_analyze)


def _resolve_data(text: str, seed: int):
    """Return (table or path, built-in Dataset or None) for the DATA argument."""
    from .datasets import load_dataset

    path = Path(text)
    if path.exists() or path.suffix or "/" in text or "\\" in text:
        return path, None  # read_table says clearly when the file is missing or unreadable
    try:
        dataset = load_dataset(text, seed=seed)
    except DatasetNotFoundError as exc:
        reason = str(exc)
        raise DatasetNotFoundError(f"There is no file '{text}', and "
                                   f"{reason[0].lower()}{reason[1:]}") from None
    return dataset.frame, dataset


def _run_analyze(args, out: TextIO, err: TextIO) -> int:
    from .analysis import analyze  # heavy (scikit-learn, umap): only this command needs it

    data, dataset = _resolve_data(args.data, args.seed)
    target = args.target or (dataset.target if dataset else None)
    if target is None:
        raise ParameterError("The --target option is required when DATA is a file: name the "
                             "label column, e.g. --target label.")
    prediction, groups = args.prediction, args.groups
    if dataset is not None and args.target in (None, dataset.target):
        prediction = prediction or dataset.prediction
        groups = groups or list(dataset.groups) or None

    def progress(message: str, fraction: float) -> None:
        err.write(f"[{fraction:4.0%}] {message}\n")
        err.flush()

    analysis = analyze(data, target=target, prediction=prediction,
                       probabilities=args.probabilities, features=args.features,
                       embedding=args.embedding, groups=groups, pool=args.pool,
                       seed=args.seed, task=args.task, alpha=args.alpha, progress=progress)
    folder = analysis.save(args.out)
    _write_summary(analysis, folder, args.alpha, out)
    return 0


def _write_summary(analysis, folder: Path, alpha: float, out: TextIO) -> None:
    """One paragraph on the run, one line per region, and where the files went."""
    predictions, schema = analysis.predictions, analysis.schema
    baseline = analysis.baseline_error_rate
    lines = [f"Analysed {len(analysis.data):,} rows: {schema.task} of '{schema.target}'; "
             f"model: {predictions.source}, {predictions.score_name} {predictions.score:.3f}.",
             f"Baseline error rate {baseline:.1%}."]
    count = len(analysis.regions)
    if count:
        lines.append(f"{count} region{'s' if count > 1 else ''} passed the test "
                     f"(false discovery rate {alpha:g}), most important first:")
        lines += [f"  R{r.id:<3} {r.size:>6,} rows  error {r.error_rate:6.1%} vs "
                  f"{r.baseline_error_rate:.1%}  p={r.p_value:.2g}  {r.description}"
                  for r in analysis.regions]
    else:
        lines.append("No region passed the test: the errors do not cluster anywhere more "
                     "than chance explains.")
    lines += [f"  note: {note}" for note in analysis.notes]
    lines += [f"Wrote {', '.join(output_names(analysis))} to {folder}/",
              f"Open {folder / 'report.html'} in a browser to see the map and the regions."]
    out.write("\n".join(lines) + "\n")


# --- datasets ------------------------------------------------------------------------------

@subcommand
def _add_datasets(subparsers) -> None:
    parser = subparsers.add_parser("datasets", help="list the built-in datasets",
                                   description="List the built-in datasets (none is "
                                               "downloaded: they ship inside packages).")
    parser.set_defaults(handler=_run_datasets)


def _run_datasets(args, out: TextIO, err: TextIO) -> int:
    from .datasets import list_datasets

    rows = [("NAME", "ROWS", "TASK", "SOURCE")]
    rows += [(d.name, f"{d.rows:,}", d.task, d.source) for d in list_datasets()]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        out.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths))
                  + f"  {row[3]}\n")
    return 0


# --- app -----------------------------------------------------------------------------------

@subcommand
def _add_app(subparsers) -> None:
    parser = subparsers.add_parser(
        "app", help="open the Streamlit app (extra options go to 'streamlit run')",
        description="Run the Streamlit app on localhost. Any further options are passed to "
                    "'streamlit run' after the defaults, so they win: "
                    "'explorer app --server.address 0.0.0.0 --server.port 8600'.")
    parser.set_defaults(handler=_run_app, accepts_extra=True)


def streamlit_command(extra: list[str], *, app_path: Path = APP_PATH) -> list[str]:
    """Return the ``streamlit run`` command line for the app, private by default.

    It listens on localhost only and sends no usage statistics unless the passthrough
    options ``extra`` (placed last, so they take precedence) say otherwise.
    """
    if not Path(app_path).is_file():
        raise ExplorerError(f"The app entry script '{app_path}' is missing; reinstall "
                            f"explorer (pip install -e .) to get it.")
    return [sys.executable, "-m", "streamlit", "run", str(app_path),
            "--server.address", "localhost", "--browser.gatherUsageStats", "false", *extra]


def _run_app(args, out: TextIO, err: TextIO) -> int:
    command = streamlit_command(args.extra)
    with subprocess.Popen(command) as process:
        try:
            return process.wait()
        except KeyboardInterrupt:  # the terminal sent SIGINT to Streamlit too: let it stop
            process.wait()
            raise
