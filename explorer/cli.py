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
import signal
import subprocess
import sys
import tomllib
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Callable, TextIO

from .errors import DatasetNotFoundError, ExplorerError, ParameterError
from .export import output_names

__all__ = ["main", "build_parser", "subcommand", "streamlit_command", "APP_PATH"]

APP_PATH = Path(__file__).parent / "app" / "Home.py"
APP_CONFIG = APP_PATH.parent / "config.toml"

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
    _add_data_arguments(parser)
    parser.add_argument("--pool", metavar="POOL",
                        help="unlabelled rows (.csv or .parquet) to rank for labelling")
    parser.add_argument("--budget", type=int, metavar="N",
                        help="rows in the collection list when --pool is given (default: 100)")
    parser.add_argument("--out", required=True, type=Path, metavar="DIR",
                        help="folder for the results (created if missing)")
    parser.set_defaults(handler=_run_analyze)


def _add_data_arguments(parser: argparse.ArgumentParser) -> None:
    """DATA and the options of an analysis of it, shared by ``analyze`` and ``score``."""
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
    parser.add_argument("--embedding", type=_embedding, metavar="A,B|FILE.npy",
                        help="precomputed embedding columns, or a .npy file with one vector "
                             "per row, that drive the map and the region search instead of "
                             "the features (default: DATA's name with .npy, when that file "
                             "exists)")
    parser.add_argument("--text", metavar="COL",
                        help="a column of free text, embedded offline (TF-IDF + SVD); its "
                             "regions are described by their distinctive words")
    parser.add_argument("--image-shape", type=_image_shape, metavar="HxW",
                        help="rows are images in pixel_* columns, e.g. 28x28 (a built-in "
                             "image dataset sets it): regions are described by confusions")
    parser.add_argument("--groups", type=_columns, metavar="A,B",
                        help="columns reported per region (e.g. sex), not used by the model")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of every random step (default: 0)")
    parser.add_argument("--task", choices=("classification", "regression"),
                        help="default: inferred from the target")
    parser.add_argument("--alpha", type=float, default=0.05, metavar="F",
                        help="false discovery rate of the region tests (default: 0.05)")


def _embedding(text: str):
    """argparse type for --embedding: a .npy path, or comma-separated column names."""
    return Path(text) if text.lower().endswith(".npy") else _columns(text)


def _image_shape(text: str) -> tuple[int, int]:
    """argparse type for --image-shape: ``HxW`` such as ``28x28``."""
    try:
        height, width = (int(side) for side in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected HEIGHTxWIDTH such as 28x28, got "
                                         f"{text!r}") from None
    return height, width


def _vectors_beside(data, embedding, err: TextIO):
    """The ``.npy`` beside a DATA file (same name), when no --embedding was given."""
    if embedding is not None or not isinstance(data, Path):
        return embedding
    beside = data.with_suffix(".npy")
    if beside.is_file():
        err.write(f"Using the vectors in {beside} as the embedding (one per row of "
                  f"{data.name}); pass --embedding to choose others.\n")
        return beside
    return None


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
    analysis, title = _analysis(args, err, pool=args.pool, budget=args.budget)
    folder = analysis.save(args.out, title=title)
    _write_summary(analysis, folder, args.alpha, out)
    return 0


def _analysis(args, err: TextIO, **settings):
    """The analysis the data arguments ask for (with a progress bar on ``err``), and the
    data's title; ``settings`` go to ``analyze`` as they are."""
    from .analysis import analyze  # heavy (scikit-learn, umap): only these commands need it

    data, dataset = _resolve_data(args.data, args.seed)
    target = args.target or (dataset.target if dataset else None)
    if target is None:
        raise ParameterError("The --target option is required when DATA is a file: name the "
                             "label column, e.g. --target label.")
    prediction, groups = args.prediction, args.groups
    if dataset is not None and args.target in (None, dataset.target):
        prediction = prediction or dataset.prediction
        groups = groups or list(dataset.groups) or None

    image_shape = args.image_shape or (dataset.image_shape if dataset else None)
    with _progress_bar(err) as progress:
        analysis = analyze(data, target=target, prediction=prediction,
                           probabilities=args.probabilities, features=args.features,
                           embedding=_vectors_beside(data, args.embedding, err),
                           groups=groups, seed=args.seed, task=args.task, alpha=args.alpha,
                           image_shape=image_shape,
                           text=args.text or (dataset.text if dataset else None),
                           progress=progress, **settings)
    return analysis, dataset.title if dataset is not None else Path(args.data).name


@contextmanager
def _progress_bar(err: TextIO):
    """A tqdm bar on ``err`` that moves within long stages; yields the ``progress`` callback.

    On a terminal the bar redraws in place; into a file or pipe tqdm separates its updates
    with carriage returns, so each stage's name is still in the log.
    """
    from tqdm import tqdm

    with tqdm(total=100, file=err, unit="%", dynamic_ncols=True, mininterval=0.5,
              bar_format="{desc}: {percentage:3.0f}%|{bar}| {elapsed}") as bar:
        def progress(message: str, fraction: float) -> None:
            bar.set_description_str(message, refresh=False)
            bar.update(max(0.0, 100 * fraction - bar.n))

        yield progress


def _write_summary(analysis, folder: Path, alpha: float, out: TextIO) -> None:
    """One paragraph on the run, one line per region, and where the files went."""
    predictions, schema = analysis.predictions, analysis.schema
    baseline = analysis.baseline_error_rate
    lines = [f"Analysed {len(analysis.data):,} rows: {schema.task} of '{schema.target}'; "
             f"model: {predictions.source}, {predictions.score_name} {predictions.score:.3f}.",
             f"Baseline error rate {baseline:.1%}."]
    found = [r for r in analysis.regions if r.kind == "error"]
    gaps = [r for r in analysis.regions if r.kind == "coverage"]
    if found:
        lines.append(f"{_count(len(found), 'region')} passed the test "
                     f"(false discovery rate {alpha:g}), most important first:")
        lines += [f"  R{r.id:<3} {r.size:>6,} rows  error {r.error_rate:6.1%} vs "
                  f"{r.baseline_error_rate:.1%}  p={r.p_value:.2g}  {r.description}"
                  for r in found]
    else:
        lines.append("No region passed the test: the errors do not cluster anywhere more "
                     "than chance explains.")
    if gaps:
        lines.append(f"{_count(len(gaps), 'coverage gap')} (far more common in the pool than in "
                     f"training, tested on held-out rows of both):")
        lines += [f"  R{r.id:<3} pool {r.pool_share:6.1%} vs training {r.training_share:.1%}  "
                  f"p={r.p_value:.2g}  {r.description}" for r in gaps]
    lines += [f"  note: {note}" for note in analysis.notes]
    lines += [f"Wrote {', '.join(output_names(analysis))} to {folder}/",
              f"Open {folder / 'report.html'} in a browser to see the map and the regions."]
    out.write("\n".join(lines) + "\n")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


# --- score ---------------------------------------------------------------------------------

@subcommand
def _add_score(subparsers) -> None:
    parser = subparsers.add_parser(
        "score", help="score every row of a large pool against the regions, in chunks",
        description="Find the regions of DATA as 'analyze' does, then score every row of "
                    "POOL against them a chunk at a time, so memory stays flat however long "
                    "POOL is: the model's label and class probabilities, the risk that it "
                    "errs, the row's place on the map, the region it belongs to and how "
                    "surely it belongs to each one.")
    _add_data_arguments(parser)
    parser.add_argument("--pool", required=True, type=Path, metavar="POOL",
                        help="the rows to score (.csv or .parquet), with DATA's feature "
                             "columns; only those are read")
    parser.add_argument("--chunk-rows", type=int, metavar="N",
                        help="pool rows scored at a time (default: 100,000); memory grows "
                             "with it")
    parser.add_argument("--out", required=True, type=Path, metavar="FILE",
                        help="the scores, one row per pool row: a .csv or .parquet file")
    parser.set_defaults(handler=_run_score)


def _run_score(args, out: TextIO, err: TextIO) -> int:
    from .pool import CHUNK_ROWS, check_score_file, score_file

    chunk_rows = CHUNK_ROWS if args.chunk_rows is None else args.chunk_rows
    check_score_file(args.pool, args.out, chunk_rows)  # before the analysis, not after
    analysis, _ = _analysis(args, err)
    with _progress_bar(err) as progress:
        scored = score_file(analysis.pool_scorer(), args.pool, args.out, chunk_rows=chunk_rows,
                            progress=lambda share: progress("Scoring the pool", share))
    lines = [f"Scored {scored.rows:,} pool rows in {_count(scored.chunks, 'chunk')} "
             f"against {_count(len(analysis.regions), 'region')}; each row's region:"]
    for region in analysis.regions:
        rows = scored.region_rows.get(region.id, 0)
        lines.append(f"  R{region.id:<3} {rows:>9,} rows ({rows / scored.rows:6.1%})  "
                     f"{region.description}")
    rows = scored.region_rows.get(-1, 0)
    lines += [f"  none {rows:>9,} rows ({rows / scored.rows:6.1%})  in no region",
              f"Wrote {scored.path}: row, predicted, "
              + ("probability_<class>, " if analysis.schema.is_classification else "")
              + "error_risk, x, y, region (-1: none), coverage_R<id>."]
    out.write("\n".join(lines) + "\n")
    return 0


# --- the workspace loop: init, suggest, ingest, retrain, status ----------------------------

def _workspace(path: Path):
    from .workspace import Workspace  # heavy (analysis): only the loop commands need it

    return Workspace.open(path)


@subcommand
def _add_init(subparsers) -> None:
    parser = subparsers.add_parser("init", help="create a workspace folder for the loop",
                                   description="Create a workspace: the labelled data, the "
                                               "pool, and every iteration to come.")
    parser.add_argument("dir", type=Path, metavar="DIR")
    parser.add_argument("--data", required=True, metavar="DATA")
    parser.add_argument("--target", required=True, metavar="COL")
    parser.add_argument("--pool", metavar="POOL")
    parser.add_argument("--hidden-label", metavar="COL",
                        help="pool column with true labels, for the simulated annotator")
    parser.add_argument("--groups", type=_columns, metavar="A,B")
    parser.add_argument("--seed", type=int, default=0, metavar="N")
    parser.set_defaults(handler=_run_init)


def _run_init(args, out: TextIO, err: TextIO) -> int:
    from .workspace import Workspace

    workspace = Workspace.create(args.dir, Path(args.data), args.target,
                                 pool=Path(args.pool) if args.pool else None,
                                 hidden_label=args.hidden_label, groups=args.groups,
                                 seed=args.seed)
    status = workspace.status()
    out.write(f"Created workspace {args.dir}/ with {status['data_rows']:,} labelled rows and "
              f"{status['pool_rows']:,} pool rows. Next: explorer suggest {args.dir} "
              f"--budget N\n")
    return 0


@subcommand
def _add_suggest(subparsers) -> None:
    parser = subparsers.add_parser("suggest", help="write the next collection list",
                                   description="Retrain if labels arrived, then choose pool "
                                               "rows to label into a collection list.")
    parser.add_argument("dir", type=Path, metavar="DIR")
    parser.add_argument("--budget", type=int, required=True, metavar="N")
    parser.add_argument("--strategy", default="targeted",
                        choices=("targeted", "random", "uncertainty"),
                        help="targeted (default), random (the control) or uncertainty")
    parser.add_argument("--label-guide", type=Path, metavar="FILE",
                        help="what each label means, one 'label: definition' line per label "
                             "(or a JSON object); kept for later iterations")
    parser.set_defaults(handler=_run_suggest)


def _run_suggest(args, out: TextIO, err: TextIO) -> int:
    workspace = _workspace(args.dir)
    from .annotate import read_label_guide  # lazy, as every command: a fast --help

    guide = read_label_guide(args.label_guide) if args.label_guide else None
    listing = workspace.suggest(args.budget, args.strategy, label_guide=guide)
    path = workspace.latest_list()
    counts = ", ".join(f"{'no region' if name == 'none' else name}: {n}"
                       for name, n in listing.groupby("region_name", sort=False).size().items())
    out.write(f"Wrote {len(listing)} rows ({counts}) to {path}\nInstructions for the "
              f"annotators: {path.parent / 'instructions.md'}\nThe same rows as Label Studio "
              f"tasks: {path.parent / 'label_studio_tasks.json'} (labelling configuration: "
              f"label_studio_config.xml); ingest its JSON export like the filled CSV.\n")
    for item in workspace.iterations[-1]["list"]["still_weak"]:
        # The evidence's first two sentences: which frozen region, and its error now.
        out.write(f"  R{item['id']}: {'. '.join(item['evidence'].split('. ')[:2])}.\n")
    return 0


@subcommand
def _add_ingest(subparsers) -> None:
    parser = subparsers.add_parser("ingest", help="record the labels of a filled list",
                                   description="Validate a labelled collection list and "
                                               "record its new labels (idempotent).")
    parser.add_argument("dir", type=Path, metavar="DIR")
    parser.add_argument("file", nargs="?", type=Path, metavar="FILE")
    parser.add_argument("--simulate", action="store_true",
                        help="label the latest list from the pool's hidden label column")
    parser.set_defaults(handler=_run_ingest)


def _run_ingest(args, out: TextIO, err: TextIO) -> int:
    if (args.file is None) == (not args.simulate):
        raise ParameterError("Give either a labelled FILE or --simulate, not both or neither.")
    workspace = _workspace(args.dir)
    report = workspace.simulate_annotation() if args.simulate else workspace.ingest(args.file)
    out.write(report.summary() + "\n")
    for item in report.rejected.itertuples():
        out.write(f"  rejected line {item.line} (row {item.row}): {item.reason}\n")
    return 0


@subcommand
def _add_retrain(subparsers) -> None:
    parser = subparsers.add_parser("retrain", help="retrain and compare with the last "
                                                   "iteration")
    parser.add_argument("dir", type=Path, metavar="DIR")
    parser.set_defaults(handler=_run_retrain)


def _run_retrain(args, out: TextIO, err: TextIO) -> int:
    record = _workspace(args.dir).retrain()
    out.write(f"Iteration {record['iteration']}: {record['rows']:,} rows, out-of-fold error "
              f"{record['error_rate']:.1%} on all of them, {len(record['regions'])} "
              f"region(s).\n")
    comparison = record["comparison"]
    if comparison:
        overall = comparison["overall"]
        out.write(f"Out-of-fold error on the same rows, iteration "
                  f"{comparison['against_iteration']} -> {record['iteration']} "
                  f"[95% intervals]; the change is paired row by row (exact McNemar test "
                  f"on the rows only one model gets wrong):\n")
        out.write(_compared(f"all {overall['before']['rows']:,} earlier rows", overall))
        for region in comparison["regions"]:
            out.write(_compared(_region_name(region), region))
        for name, group in comparison["groups"].items():
            out.write(_compared(name, group))
    out.write(f"Next: explorer suggest {args.dir} --budget N\n")
    return 0


def _region_name(region: dict) -> str:
    """``R2 segment = rare (45 rows)``: the rule, cut short, so a person knows which."""
    rule = region["rule"] or "no simple rule"
    rule = rule if len(rule) <= 50 else rule[:47] + "..."
    return f"R{region['id']} {rule} ({region['size']:,} rows)"


def _compared(name: str, item: dict) -> str:
    before, after, paired = item["before"], item["after"], item.get("paired")
    text = (f"  {name}: {before['error_rate']:.1%} [{before['interval'][0]:.1%}, "
            f"{before['interval'][1]:.1%}] -> {after['error_rate']:.1%} "
            f"[{after['interval'][0]:.1%}, {after['interval'][1]:.1%}]")
    if paired:  # iterations written before paired tests existed have none
        low, high = paired["interval"]
        text += (f"; change {100 * paired['change']:+.1f} points [{100 * low:+.1f}, "
                 f"{100 * high:+.1f}], {paired['fixed']} rows fixed, {paired['broken']} "
                 f"broken, p = {paired['p_value']:.2g}")
    return text + "\n"


@subcommand
def _add_status(subparsers) -> None:
    parser = subparsers.add_parser("status", help="iterations, labels and trends")
    parser.add_argument("dir", type=Path, metavar="DIR")
    parser.set_defaults(handler=_run_status)


def _run_status(args, out: TextIO, err: TextIO) -> int:
    status = _workspace(args.dir).status()
    out.write(f"Workspace {status['path']}: target '{status['target']}', "
              f"{status['data_rows']:,} data rows, {status['pool_rows']:,} pool rows, "
              f"{status['labels']:,} labels recorded.\n")
    for item in status["iterations"]:
        listed = item["list"]
        out.write(f"  iteration {item['iteration']}: {item['rows']:,} rows, error "
                  f"{item['error_rate']:.1%}, {item['regions']} region(s)"
                  + (f", list of {listed['rows']} ({listed['strategy']})" if listed else "")
                  + "\n")
        if item["comparison"]:
            for region in item["comparison"]["regions"]:
                out.write("  " + _compared(
                    f"{_region_name(region)} of iteration "
                    f"{item['comparison']['against_iteration']}", region))
    return 0


# --- demo ----------------------------------------------------------------------------------

@subcommand
def _add_demo(subparsers) -> None:
    parser = subparsers.add_parser(
        "demo", help="run a guided demonstration (bias: unfairness traced to the data)",
        description="Run the bias demonstration on the UCI Adult table: a skewed training "
                    "set, the weak region, targeted collection against a random control, "
                    "and the group's error gap before and after. Every number is measured "
                    "in this run.")
    parser.add_argument("name", choices=("bias",), help="the demonstration to run")
    parser.add_argument("--seed", type=int, default=0, metavar="N",
                        help="seed of every random step (default: 0)")
    parser.add_argument("--budget", type=int, default=300, metavar="N",
                        help="rows each strategy may label (default: 300)")
    parser.add_argument("--out", type=Path, metavar="DIR",
                        help="folder for report.html (default: no files)")
    parser.set_defaults(handler=_run_demo)


def _run_demo(args, out: TextIO, err: TextIO) -> int:
    from .demo import demo_report_html, run_bias_demo  # heavy: only this command needs it
    from .files import write_text_atomically

    def progress(message: str, fraction: float) -> None:
        err.write(f"[{fraction:4.0%}] {message}\n")
        err.flush()

    demo = run_bias_demo(seed=args.seed, budget=args.budget, progress=progress)
    out.write(demo.split.description + "\n\n")
    for step in demo.steps:
        out.write(f"{step.title}\n  {step.text}\n\n")
    out.write(f"Verdict: {demo.verdict}\n")
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
            write_text_atomically(args.out / "report.html", demo_report_html(demo))
        except OSError as exc:
            raise ExplorerError(f"Could not write the demo report to '{args.out}': "
                                f"{exc.strerror or exc}. Choose a folder you can write "
                                f"to.") from None
        out.write(f"Wrote {args.out / 'report.html'}\n")
    return 0


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


def app_settings(config: Path = APP_CONFIG) -> list[str]:
    """The app's settings (``explorer/app/config.toml``) as ``streamlit run`` options.

    Streamlit reads a config file only from the working folder and the home folder, so the
    app's own (localhost only, no usage statistics, the upload limit, no stack traces shown to
    users) are passed on the command line, where they hold wherever the app starts.
    """
    with open(config, "rb") as stream:
        sections = tomllib.load(stream)
    return [part for section, values in sections.items() for key, value in values.items()
            for part in (f"--{section}.{key}",
                         str(value).lower() if isinstance(value, bool) else str(value))]


def streamlit_command(extra: list[str], *, app_path: Path = APP_PATH) -> list[str]:
    """Return the ``streamlit run`` command line for the app, private by default.

    The app's settings come first and the passthrough options ``extra`` last, so a user's
    ``--server.address 0.0.0.0`` takes precedence.
    """
    if not Path(app_path).is_file():
        raise ExplorerError(f"The app entry script '{app_path}' is missing; reinstall "
                            f"explorer (pip install -e .) to get it.")
    return [sys.executable, "-m", "streamlit", "run", str(app_path), *app_settings(), *extra]


FORWARDED_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP")
                          if hasattr(signal, name))
"""Signals a supervisor sends to stop ``explorer app``; they are passed on to the server, so
stopping the command stops the server instead of orphaning it on its port."""


def _run_app(args, out: TextIO, err: TextIO) -> int:
    command = streamlit_command(args.extra)
    with subprocess.Popen(command) as process:
        def forward(signum, frame):
            process.send_signal(signum)

        previous = {number: signal.signal(number, forward) for number in FORWARDED_SIGNALS}
        try:
            return process.wait()
        except KeyboardInterrupt:  # from a terminal, Streamlit got SIGINT too; not from kill
            process.send_signal(signal.SIGINT)
            process.wait()
            raise
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
