"""``taintsigma scan``: run rules over log files; alerts as a table or NDJSON, summary on stderr."""

from __future__ import annotations

import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Self

import click
import orjson

from taintsigma.cli.output import EXIT_FINDINGS, EXIT_USAGE, error, handle_errors
from taintsigma.errors import ErrorPolicy, TaintSigmaError
from taintsigma.logs.event import Unparsed, get_field
from taintsigma.logs.inputs import InputProblem
from taintsigma.rules.loader import load_rules
from taintsigma.scan.alerts import Alert
from taintsigma.scan.routing import compile_for_scan
from taintsigma.scan.run import SCAN_FORMATS, ScanSummary, scan_paths

TABLE_LIMIT = 1000
PROGRESS_MIN_BYTES = 4 << 20
MESSAGE_WIDTH = 160


@click.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option(
    "-r", "--rules", "rules", multiple=True, type=click.Path(path_type=Path),
    help="Rule file or folder (repeatable; default: the bundled rules).",
)  # fmt: skip
@click.option(
    "--format", "format_", type=click.Choice(SCAN_FORMATS), default="auto", show_default=True,
    help="Input format; auto recognises each input by its content.",
)  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Write alerts as NDJSON (one per line).")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
    help="Write the alerts as NDJSON to FILE instead of stdout.",
)  # fmt: skip
@click.option(
    "--keep-unparsed", type=click.Path(dir_okay=False, path_type=Path),
    help="Write every line that cannot be parsed to FILE (turns the prefilter off).",
)  # fmt: skip
@click.option(
    "--timezone", default="local", show_default=True,
    help="Zone of time stamps without an offset: local, UTC, +02:00 or an IANA name.",
)  # fmt: skip
@click.option("--no-prefilter", is_flag=True, help="Parse every line (slower; for checking).")
@click.option(
    "--regex-engine", type=click.Choice(["re2", "re"]), default="re2", show_default=True,
    help="re runs rule regexes RE2 refuses, in Python's backtracking engine (trusted rules only).",
)  # fmt: skip
@click.option("-j", "--jobs", type=click.IntRange(1, 64), help="Processes for several files.")
@handle_errors
def scan(
    inputs: tuple[str, ...],
    rules: tuple[Path, ...],
    format_: str,
    as_json: bool,
    output: Path | None,
    keep_unparsed: Path | None,
    timezone: str,
    no_prefilter: bool,
    regex_engine: str,
    jobs: int | None,
) -> int:
    """Scan INPUTs (log files, folders, .gz files, or - for stdin) with Sigma rules.

    Alerts go to stdout: a table, or NDJSON with --json or -o FILE. Problems and the summary
    go to stderr. Exit 0 without alerts, 1 with alerts, 2 when an input or a rule could not
    be read (the other inputs are still scanned).
    """
    with ExitStack() as stack:
        unparsed_file: IO[bytes] | None = None
        if keep_unparsed is not None:
            unparsed_file = stack.enter_context(_open_for_writing(keep_unparsed))
        sink: IO[bytes] | None = None
        if output is not None:
            sink = stack.enter_context(_open_for_writing(output))
        elif as_json:
            sink = sys.stdout.buffer

        def on_unparsed(line: Unparsed) -> None:
            if unparsed_file is not None:
                unparsed_file.write(line.raw.rstrip(b"\r\n") + b"\n")

        loaded = load_rules(rules or None, on_error=ErrorPolicy.COLLECT)
        for err in loaded.errors:
            error(str(err))
        if not len(loaded):
            raise TaintSigmaError("no rule to scan with")
        progress = stack.enter_context(_Progress())
        job = scan_paths(
            inputs,
            compile_for_scan(loaded, errors=loaded.errors, regex_engine=regex_engine),
            format=format_,
            timezone=timezone,
            keep_unparsed=keep_unparsed is not None,
            prefilter=not no_prefilter,
            jobs=jobs,
            on_problem=_print_problem,
            on_unparsed=on_unparsed,
            on_progress=progress.update,
        )
        progress.start(job.total_bytes)
        rows: list[Alert] = []
        try:
            for alert in job:
                if sink is not None:
                    sink.write(orjson.dumps(alert.to_dict(), default=str) + b"\n")
                elif len(rows) < TABLE_LIMIT:
                    rows.append(alert)
            if sink is not None:
                sink.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as grep does.
            progress.stop()
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FINDINGS
        progress.stop()
        for err in job.rules.errors[len(loaded.errors) :]:  # compile errors, known by now
            error(str(err))
        if sink is None:
            _print_table(rows, job.summary.alerts)
        _print_summary(job.summary, job.rules.errors)
        if job.summary.errors or job.rules.errors:
            return EXIT_USAGE
        return EXIT_FINDINGS if job.summary.alerts else 0


def _open_for_writing(path: Path) -> IO[bytes]:
    try:
        return path.open("wb")
    except OSError as err:
        raise click.UsageError(f"cannot write {path}: {err.strerror}") from err


def _print_problem(problem: InputProblem) -> None:
    if problem.error:
        error(str(problem))
    else:
        click.echo(f"taintsigma: note: {problem}", err=True)


def _print_table(alerts: list[Alert], total: int) -> None:
    if not alerts:
        click.echo("no alerts")  # rich (~0.1 s to import) only when there is a table
        return
    from rich.console import Console
    from rich.table import Table

    console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 200)
    table = Table(show_lines=False, header_style="bold")
    for name in ("rule", "level", "host", "time", "file:line"):
        table.add_column(name, no_wrap=name != "rule")
    table.add_column("message", overflow="fold")
    for alert in alerts:
        fields = alert.event.fields
        host = get_field(fields, "host.hostname") or get_field(fields, "hostname") or ""
        message = get_field(fields, "message") or ""
        message = str(message)
        if len(message) > MESSAGE_WIDTH:
            message = message[: MESSAGE_WIDTH - 1] + "…"
        table.add_row(
            alert.rule.name,
            alert.rule.level or "",
            str(host),
            alert.timestamp or "",
            str(alert.origin) if alert.origin else "",
            message,
            style=_LEVEL_STYLES.get(alert.rule.level or ""),
        )
    console.print(table)
    if total > len(alerts):
        console.print(f"… and {total - len(alerts)} more alerts (use --json to get them all)")


_LEVEL_STYLES = {"critical": "bold red", "high": "red", "medium": "yellow"}


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _print_summary(summary: ScanSummary, rule_errors: list[Any]) -> None:
    parts = [
        _count(len(summary.files), "input"),
        f"{_count(summary.lines, 'line')} read",
        f"{summary.skipped:,} skipped by the prefilter",
        f"{_count(summary.events, 'event')} parsed",
        f"{summary.unparsed:,} unparsable",
    ]
    if summary.truncated:
        parts.append(f"{summary.truncated:,} cut at 10 MiB")
    errors = len(summary.errors)
    if errors:
        parts.append(f"{errors} unreadable")
    rules = _count(summary.rules - len(rule_errors), "rule")
    alerts = _count(summary.alerts, "alert")
    click.echo(f"scanned {', '.join(parts)} with {rules}: {alerts}", err=True)
    for rule_id, (name, count) in sorted(
        summary.alerts_per_rule.items(), key=lambda item: (-item[1][1], item[1][0])
    ):
        click.echo(f"  {count:>8,}  {name} ({rule_id})", err=True)


class _Progress:
    """A transient progress bar on stderr, only on a terminal and for inputs over 4 MiB."""

    def __init__(self) -> None:
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self, total: int) -> None:
        if total < PROGRESS_MIN_BYTES or not sys.stderr.isatty():
            return
        from rich.console import Console
        from rich.progress import BarColumn, DownloadColumn, Progress, TimeRemainingColumn

        self._bar = Progress(
            "scanning", BarColumn(), DownloadColumn(), TimeRemainingColumn(),
            console=Console(stderr=True), transient=True,
        )  # fmt: skip
        self._task = self._bar.add_task("scan", total=total)
        self._bar.start()

    def update(self, done: int, total: int) -> None:
        if self._bar is not None:
            self._bar.update(self._task, completed=done)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
