"""Command line: `python -m diffcompare PATH... [options]`, `backends`, `explain FILE`.

Exit codes: 0 every problem judged; 1 with --check when any row disagrees or is an
error; 2 bad input (after the good problems have run and the reports are written), or
no problem found (then nothing is written); 3 the run could not write its outputs (the
output folder is not a writable folder, another run holds it, or a file could not be
written: the previous reports are left as they were); 130 interrupted by Ctrl-C, 143 by
SIGTERM (the rows finished so far go to results.partial.csv, and the last complete
report is left as it was).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from pathlib import Path

import numpy as np

from diffcompare.backends.timing import DEFAULT_BUDGET_S, DEFAULT_REPEAT, configure
from diffcompare.lang.printable import visible
from diffcompare.running.supervisor import DEFAULT_TIMEOUT_S
from diffcompare.spec.problem import DTYPES
from diffcompare.spec.select import select_problems

EXIT_OK, EXIT_DISAGREE, EXIT_BAD_INPUT, EXIT_OUTPUT, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is (the partial rows are kept), but exit 143."""


def _terminate(signum, frame):
    raise Terminated


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m diffcompare",
        description="Compare symbolic and automatic differentiation on YAML problems. "
        "Other commands: `backends` (list backends), `explain FILE` (print the chain-rule tape), "
        "`sweep FILE` (finite-difference step sweep), `fuzz` (random problems), "
        "`schema` (the JSON Schema of problem files).",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="problem files, or folders searched for *.yaml/*.yml")
    parser.add_argument(
        "-k",
        dest="patterns",
        action="append",
        default=[],
        metavar="PATTERN",
        help="run only the problems whose name contains PATTERN (case-insensitive); 'not PATTERN' leaves them out; "
        "-k again adds more (a problem is run when it matches any plain pattern and no 'not' one)",
    )
    parser.add_argument(
        "--tags", type=_list, default=[], help="comma-separated tags: run only the problems with at least one of them"
    )
    parser.add_argument("--backends", type=_list, help="comma-separated backends (default: all)")
    parser.add_argument("--dtypes", type=_list, help=f"comma-separated subset of {','.join(DTYPES)}")
    parser.add_argument(
        "--out", type=Path, help="report folder (default: reports/, or with --resume the folder it names)"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when any row disagrees or is an error")
    parser.add_argument("--rtol", type=float, help="relative tolerance for every row, replacing the defaults")
    parser.add_argument("--atol", type=float, help="absolute tolerance for every row, replacing the defaults")
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="worker processes (default: the cores; 1 runs in-process)"
    )
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS|local:N",
        help="run on a Dask cluster: the address of a running `dask scheduler` (tcp://host:8786), or local:N "
        "for N worker processes here; each problem is a task, each worker keeps its backends loaded "
        "(needs pip install 'diffcompare[cluster]')",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help=f"seconds each problem × backend may take before it is stopped (default {DEFAULT_TIMEOUT_S:g})",
    )
    parser.add_argument("--max-length", type=int, help="characters in one expression, at most (default 10000)")
    parser.add_argument("--max-depth", type=int, help="nested operations in one expression, at most (default 100)")
    parser.add_argument(
        "--max-elements", type=int, help="elements of a point, and of any intermediate value, at most (default 2000000)"
    )
    parser.add_argument("--max-file-bytes", type=int, help="bytes in one problem file, at most (default 10000000)")
    parser.add_argument(
        "--max-yaml-nodes", type=int, help="YAML values in one document, aliases expanded, at most (default 1000000)"
    )
    parser.add_argument("--max-digits", type=int, help="digits of one integer in a problem file, at most (default 400)")
    parser.add_argument("--max-sweep", type=int, help="problems one sweep makes, at most (default 1000)")
    parser.add_argument(
        "--max-nodes", type=int, help="operations in one problem's expressions, at most (default 10000)"
    )
    parser.add_argument("--repeat", type=int, help=f"timed calls per cell, at most (default {DEFAULT_REPEAT})")
    parser.add_argument(
        "--budget", type=float, help=f"seconds of timed calls per cell, at most (default {DEFAULT_BUDGET_S})"
    )
    parser.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="stdout: the summary table (text, the default) or one JSON document with every row (json)",
    )
    parser.add_argument(
        "--quiet", action="store_true", help="nothing on stdout and no progress bar; bad input still goes to stderr"
    )
    parser.add_argument(
        "--no-jax-cache",
        dest="jax_cache",
        action="store_false",
        help="compile every jax program afresh, without JAX's persistent compilation cache "
        "(by default in ~/.cache/diffcompare/jax: a later run reads what this one compiles)",
    )
    parser.add_argument(
        "--no-html",
        dest="html",
        action="store_false",
        help="write results.csv and summary.md only, without typesetting report.html (for CI runs); "
        "a report.html left by an earlier run is removed",
    )
    parser.add_argument(
        "--parquet",
        action="store_true",
        help="stream the rows, as problems finish, to a Parquet dataset (a folder of part files): "
        "OUT/results.parquet.partial while the run goes, OUT/results.parquet once it is done, which "
        "pd.read_parquet reads back; results.csv and the reports are made from it. Without it (and "
        "without --cluster or --resume) a results.parquet left by an earlier run is removed",
    )
    parser.add_argument(
        "--chunk",
        type=int,
        default=64,
        metavar="N",
        help="problems per part file of the streamed dataset, at most (default 64; a part is also cut at "
        "500,000 rows): what an interrupted run can lose, and what the run holds in memory",
    )
    parser.add_argument(
        "--resume",
        type=Path,
        metavar="DIR",
        help="finish the run that was interrupted in the report folder DIR: the problems whose rows are in "
        "DIR/results.parquet.partial are not run again (the same paths and options as that run, checked)",
    )
    return parser


def run_command(argv: list[str]) -> int:
    args = _run_parser().parse_args(argv)
    if args.resume is not None and args.resume.name == "results.parquet.partial":
        args.resume = args.resume.parent  # the dataset's folder named instead of the report folder
    if args.resume is not None and args.out is not None and args.out.resolve() != args.resume.resolve():
        print(
            f"--resume {args.resume}: the run's report folder, so --out must be it too (or left out)", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    args.out = args.out or args.resume or Path("reports")
    if args.chunk < 1:
        print(f"--chunk: expected a number of problems ≥ 1, got {args.chunk}", file=sys.stderr)
        return EXIT_BAD_INPUT
    args.streamed = bool(args.parquet or args.cluster or args.resume)
    from diffcompare import backends as registry
    from diffcompare.lang import limits
    from diffcompare.running.runner import load_problems
    from diffcompare.running.supervisor import check_timeout
    from diffcompare.views.files import OutputError, check_folder, folder_lock

    limits.configure(  # before any file is read
        args.max_length,
        args.max_depth,
        args.max_elements,
        args.max_file_bytes,
        args.max_yaml_nodes,
        args.max_digits,
        args.max_sweep,
        args.max_nodes,
    )
    for dtype in args.dtypes or []:
        if dtype not in DTYPES:
            print(f"--dtypes: unknown dtype '{dtype}' (choose from {', '.join(DTYPES)})", file=sys.stderr)
            return EXIT_BAD_INPUT
    known = registry.available_names()
    for name in args.backends or []:
        if name not in known:
            print(f"--backends: unknown backend '{name}' (known: {', '.join(known)})", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        timeout = check_timeout(args.timeout)
    except ValueError as exc:
        print(f"--{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.cluster:
        from diffcompare.running.cluster import ClusterError, parse

        try:
            parse(args.cluster)
            import distributed  # noqa: F401  (only asked whether it is there)
        except ClusterError as exc:
            print(exc, file=sys.stderr)
            return EXIT_BAD_INPUT
        except ImportError:
            from diffcompare.running.cluster import INSTALL_HINT

            print(f"--cluster needs Dask distributed, which is not installed: {INSTALL_HINT}", file=sys.stderr)
            return EXIT_BAD_INPUT
    try:
        check_folder(args.out)  # before any work: a run that cannot write its reports is lost
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return EXIT_OUTPUT
    missing = [p for p in args.paths if not Path(p).exists()]
    problems, errors = load_problems([p for p in args.paths if p not in missing])
    messages = [f"{p}: no such file or folder" for p in missing] + [str(e) for e in errors]
    for message in messages:
        print(message, file=sys.stderr)
    if not problems:
        # A mistyped path or an empty folder is not a passing run; the last reports stay.
        print(f"no problem found: nothing run, nothing written to {args.out}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.patterns or args.tags:
        found = len(problems)
        problems = select_problems(problems, args.patterns, args.tags)
        if not problems:
            print(
                visible(
                    f"{_selection_text(args)} selects none of the {found} problems found: nothing run, "
                    f"nothing written to {args.out}"
                ),
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
    try:
        with folder_lock(args.out):  # two runs never mix their files in one folder
            return _run_and_write(args, problems, messages, timeout)
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return EXIT_OUTPUT


def _selection_text(args) -> str:
    """'-k sig -k not relu --tags a,b', as given."""
    parts = [f"-k {p!r}" for p in args.patterns]
    if args.tags:
        parts.append(f"--tags {','.join(args.tags)}")
    return " ".join(parts)


def _run_and_write(args, problems, messages: list[str], timeout: float) -> int:
    from diffcompare import backends as registry
    from diffcompare.running.cluster import ClusterError
    from diffcompare.running.dataset import RunMismatch
    from diffcompare.running.runner import frame_of, run_problems
    from diffcompare.running.streamed import open_dataset, run_into
    from diffcompare.views.files import OutputError, write_reports
    from diffcompare.views.html_report import prepare as prepare_report
    from diffcompare.views.terminal import CellProgress, print_summary, report_link, write_json

    known = registry.available_names()
    configure(args.repeat, args.budget)
    if not args.jax_cache:
        from diffcompare.backends import jax_cache

        jax_cache.configure(False)  # the workers are told through RunOptions
    # --parquet, --cluster, --resume: the rows go to OUT/results.parquet.partial as problems finish.
    writer = None
    if args.streamed:
        try:
            writer = open_dataset(
                args.out,
                problems,
                args.backends,
                args.dtypes,
                args.rtol,
                args.atol,
                resume=args.resume is not None,
                chunk=args.chunk,
            )
        except (RunMismatch, OSError) as exc:
            print(f"--resume: {exc}" if isinstance(exc, RunMismatch) else exc, file=sys.stderr)
            return EXIT_BAD_INPUT if isinstance(exc, RunMismatch) else EXIT_OUTPUT
    todo = len(problems) - (len(writer.done) if writer is not None else 0)
    jobs = max(1, min(args.jobs, todo))  # a worker per problem at most: each starts its own imports
    finished: dict = {}
    cells = todo * len(args.backends or known)
    # The report's formulas, typeset while the workers run; nothing to typeset without it.
    typesetting = prepare_report(problems if args.html else [])
    frame = None
    try:
        with _cluster(args) as cluster:
            workers = cluster.workers() if cluster is not None else jobs
            progress_bar = CellProgress(cells, enabled=not args.quiet, problems=todo, workers=workers)
            with progress_bar as progress:
                chosen = (problems, args.backends, args.dtypes, args.rtol, args.atol)
                run = {"jobs": jobs, "timeout": timeout, "progress": progress, "cluster": cluster}
                if writer is not None:
                    run_into(writer, *chosen, **run)
                else:
                    frame = run_problems(*chosen, finished=finished, **run)
    except ClusterError as exc:
        typesetting.stop()
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt as exc:
        done = writer if writer is not None else frame_of(finished)
        code = _keep_partial(args, exc, done, len(writer if writer is not None else finished), len(problems), messages)
        typesetting.stop()  # not left inside matplotlib while the interpreter shuts down
        return code
    try:
        typesetting.join()  # mathtext is not thread-safe: the report's own typesetting waits for it
        if writer is not None:
            frame, paths = _reports_from_dataset(args, writer, messages, problems)
        else:
            paths = write_reports(frame, messages, args.out, problems, html=args.html)
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return EXIT_OUTPUT
    except KeyboardInterrupt as exc:  # every row is in, the report is not: the rows are kept all the same
        done = writer if writer is not None else frame
        code = _keep_partial(args, exc, done, len(problems), len(problems), messages)
        typesetting.stop()
        return code
    verdicts = frame["verdict"]
    if args.format == "json" and not args.quiet:
        write_json(_every_row(args, frame), messages, paths)
    elif not args.quiet:
        if "value" in frame:
            print_summary(frame, messages)
        else:
            print(f"{len(frame)} rows: " + ", ".join(f"{v} {n}" for v, n in verdicts.value_counts().items() if n))
        print("wrote " + ", ".join(map(str, paths)))
        if sys.stdout.isatty() and args.html:  # a person at a terminal: one line to click or paste
            print(report_link(next(p for p in paths if p.suffix == ".html")))
    if messages:
        return EXIT_BAD_INPUT
    if args.check and verdicts.isin(["disagree", "error"]).any():
        return EXIT_DISAGREE
    return EXIT_OK


def _reports_from_dataset(args, writer, messages, problems):
    """The views of a streamed run, made from its dataset, which then becomes OUT/results.parquet;
    and the rows for the terminal: every row up to derived.REPORT_ROWS, past it the verdicts only
    (the summary table would hold a sample; the files say what they sample)."""
    import pandas as pd

    from diffcompare.running.dataset import DATASET_NAME, read_dataset, row_count
    from diffcompare.views.derived import REPORT_ROWS, write_reports_from_dataset

    paths = write_reports_from_dataset(writer.folder, messages, args.out, problems, html=args.html)
    dataset = args.out / DATASET_NAME
    if row_count(dataset) <= REPORT_ROWS:
        return read_dataset(dataset), paths
    return pd.read_parquet(dataset, columns=["verdict"]), paths


def _every_row(args, frame):
    """--format json prints every row: read them all where the terminal had the verdicts only."""
    if "value" in frame:
        return frame
    from diffcompare.running.dataset import DATASET_NAME, read_dataset

    return read_dataset(args.out / DATASET_NAME)


def _cluster(args):
    """The Dask cluster the run is on (running.cluster.Cluster, entered), or None: this machine."""
    if not args.cluster:
        return contextlib.nullcontext()
    from diffcompare.running.cluster import Cluster

    return Cluster(args.cluster)


def _keep_partial(args, exc: KeyboardInterrupt, done, finished: int, total: int, messages) -> int:
    """Ctrl-C or SIGTERM: keep the rows finished so far in results.partial.csv and leave the
    last complete report as it was; exit 130, or 143 for SIGTERM. done: the rows (a DataFrame),
    or a streamed run's dataset writer, whose finished problems are on disk for --resume."""
    from diffcompare.running.dataset import DatasetWriter
    from diffcompare.views.derived import write_partial_csv
    from diffcompare.views.files import OutputError, write_csv
    from diffcompare.views.terminal import write_json

    code = EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    partial = args.out / "results.partial.csv"
    streamed = isinstance(done, DatasetWriter)
    try:
        if streamed:
            write_partial_csv(done.folder, partial)
        else:
            write_csv(done, partial)
    except (OSError, OutputError) as error:
        print(f"\n{partial}: not written: {getattr(error, 'strerror', None) or error}", file=sys.stderr)
        return code
    print(f"\ninterrupted: {finished} of {total} problems finished, written to {partial}", file=sys.stderr)
    if streamed:
        print(
            f"their rows are in {done.folder}: the same command with --resume {args.out} runs the rest",
            file=sys.stderr,
        )
    if args.format == "json" and not args.quiet:
        from diffcompare.running.dataset import read_dataset

        write_json(read_dataset(done.folder) if streamed else done, messages, [partial], interrupted=True)
    return code


def backends_command(argv: list[str]) -> int:
    argparse.ArgumentParser(prog="python -m diffcompare backends", description="List the backends.").parse_args(argv)
    from diffcompare import backends as registry

    names = registry.available_names()
    width = max(map(len, names), default=0)
    for name in names:
        ok, note = registry.status(name)
        # a built-in's library and its installed version ('symengine 0.15.0'), read from the
        # installed metadata without importing it; a plug-in's note names its distribution
        version = registry.library_version(name) if ok and name in registry.BUILTIN else ""
        note = ", ".join(filter(None, [version, note]))
        print(f"{name:<{width}}  {'available' if ok else 'unavailable':<12} {note}".rstrip())
    return EXIT_OK


def explain_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m diffcompare explain", description="Print the chain-rule tape of each problem in FILE."
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--dtype", default="float64", choices=DTYPES)
    args = parser.parse_args(argv)
    from rich.console import Console

    from diffcompare.engine.chainrule import ChainRule, point_in
    from diffcompare.engine.tape import FORWARD_TAPE_HOW_TO_READ, TAPE_HOW_TO_READ
    from diffcompare.spec.files import load_file
    from diffcompare.views.terminal import print_tape, tape_title

    problems, errors = load_file(args.file)
    console = Console()
    for problem in problems:
        engine = ChainRule(problem.function, args.dtype)
        inputs = point_in(problem.point, args.dtype)
        if problem.operator == "jvp":  # forward mode: the tangents along the problem's direction
            direction = {var: inputs[v] for var, v in problem.direction.items()}
            steps = engine.tape(inputs, problem.wrt, direction=direction)
            print_tape(console, tape_title(problem, args.dtype), steps, forward=True)
            console.print(FORWARD_TAPE_HOW_TO_READ + "\n", style="dim")
            continue
        steps = engine.tape(inputs, problem.wrt)
        print_tape(console, tape_title(problem, args.dtype), steps)
        console.print(TAPE_HOW_TO_READ + "\n", style="dim")
    for e in errors:
        print(e, file=sys.stderr)
    return EXIT_BAD_INPUT if errors else EXIT_OK


def sweep_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m diffcompare sweep",
        description="Error against the step h for forward, central and complex-step differences "
        "(h = 1e-1 … 1e-16, float32 and float64), as CSV and a log-log PNG.",
    )
    parser.add_argument("file", type=Path)
    parser.add_argument("--problem", help="which problem of the file (default: the first)")
    parser.add_argument("--variable", help="which variable (default: the first differentiated one)")
    parser.add_argument(
        "--index", default="", help="which element of an array variable, as 2 or 1,0 (default: the first)"
    )
    parser.add_argument("--out", default="reports", type=Path)
    args = parser.parse_args(argv)
    from diffcompare.spec.files import load_file
    from diffcompare.tools.sweep import write_sweep
    from diffcompare.views.files import OutputError, check_folder, folder_lock

    try:
        check_folder(args.out)
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return EXIT_OUTPUT

    problems, errors = load_file(args.file)
    for e in errors:
        print(e, file=sys.stderr)
    chosen = [p for p in problems if args.problem in (None, p.name)]
    if not chosen:
        print(
            visible(f"{args.file}: no problem named '{args.problem}'" if args.problem else f"{args.file}: no problem"),
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    problem = chosen[0]
    variable = args.variable or problem.wrt[0]
    if variable not in problem.wrt:
        print(
            f"--variable: '{visible(variable)}' is not differentiated in '{visible(problem.name)}' "
            f"({visible(', '.join(problem.wrt))})",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    shape = problem.point[variable].shape
    try:
        index = tuple(int(i) for i in args.index.split(",") if i.strip()) or (0,) * len(shape)
        np.empty(shape)[index]
        if len(index) != len(shape):
            raise IndexError
    except (ValueError, IndexError):
        print(f"--index: '{args.index}' is not an element of '{variable}' (shape {shape})", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with folder_lock(args.out):
            paths = write_sweep(problem, variable, index, args.out)
    except OutputError as exc:
        print(exc, file=sys.stderr)
        return EXIT_OUTPUT
    except OSError as exc:
        print(f"{exc.filename or args.out}: not written: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_OUTPUT
    except ValueError as exc:
        print(visible(f"{args.file}: problem '{problem.name}': {exc}"), file=sys.stderr)
        return EXIT_BAD_INPUT
    print("wrote " + ", ".join(map(str, paths)))
    return EXIT_OK


def fuzz_command(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m diffcompare fuzz",
        description="Random problems (scalars, arrays, slices, reductions, @, where, data variables; ordinary ones "
        "well conditioned, others on and near kinks and singular points with the verdict they must get) through the "
        "exact backends and central differences. Prints the disagreements and the verdicts that differ from the "
        "generator's expectation; each is shrunk and written as a problem file.",
    )
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("reports/fuzz"))
    parser.add_argument("--dtypes", type=_list, default=["float64"])
    parser.add_argument("--backends", type=_list, help="default: sympy, torch, jax, chainrule, central")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--shrink", type=int, default=20, help="findings to shrink (default 20; the rest as generated)")
    parser.add_argument(
        "--cluster",
        metavar="ADDRESS|local:N",
        help="run the problems on a Dask cluster (a `dask scheduler`'s address, or local:N worker processes)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds per problem × backend cell, in worker processes (default 30)",
    )
    args = parser.parse_args(argv)
    from diffcompare.running.cluster import ClusterError
    from diffcompare.running.columns import counts_of
    from diffcompare.tools.fuzz import CAMPAIGN_BACKENDS, campaign

    try:
        result = _campaign(args, campaign, CAMPAIGN_BACKENDS)
    except ClusterError as exc:
        print(exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    counts = result.counts()
    verdicts = counts_of(result.frame["verdict"]).to_dict()
    kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(result.kinds().items(), key=lambda kv: -kv[1]))
    print(f"{counts['problems']} problems ({kinds}), {counts['rows']} rows in {result.seconds:.1f} s: {verdicts}")
    for line in result.unbuildable:
        print(f"not loaded: {line}")
    for finding in result.findings:
        print(visible(f"{finding.outcome}: {finding.problem} · {finding.backend} {finding.dtype}: {finding.detail}"))
        print(f"  -> {finding.path}")
    print(
        f"{counts['disagreements']} disagreement(s) ({counts['disagreement rows']} rows) where none was expected; "
        f"{counts['expected disagreement rows']} expected disagreement rows (AD traps, finite differences near kinks)"
    )
    print(
        f"{counts['mismatches']} problem(s) with verdicts that differ from the expected ones ({counts['mismatch rows']} rows)"
    )
    print(f"{counts['error rows']} error rows")
    return EXIT_OK


def _campaign(args, campaign, backends):
    return campaign(
        args.count,
        args.seed,
        args.out,
        tuple(args.dtypes),
        args.backends or backends,
        jobs=args.jobs,
        shrink_limit=args.shrink,
        timeout=args.timeout,
        cluster=args.cluster,
    )


def schema_command(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog="python -m diffcompare schema",
        description="Print the JSON Schema of a problem file (one YAML document), generated from the model that "
        "validates files. Point an editor at it with the first line `# yaml-language-server: $schema=PATH`.",
    ).parse_args(argv)
    from diffcompare.spec.schema import schema_text

    print(schema_text(), end="")
    return EXIT_OK


COMMANDS = {
    "backends": backends_command,
    "explain": explain_command,
    "sweep": sweep_command,
    "fuzz": fuzz_command,
    "schema": schema_command,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Ctrl-C must reach us as KeyboardInterrupt even where a parent shell started
    # this process with SIGINT ignored (a background job): the partial rows depend on it.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # SIGTERM (kill, a CI runner's cancel, a container's stop) ends the run as Ctrl-C does.
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        # A subcommand is a bare first word; a path of the same name still runs as a path.
        if argv and argv[0] in COMMANDS and not Path(argv[0]).exists():
            return COMMANDS[argv[0]](argv[1:])
        return run_command(argv)
    except KeyboardInterrupt as exc:  # before or after the run itself: nothing to keep
        print("\ninterrupted", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
