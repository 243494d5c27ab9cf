"""``taintsigma scan``: run rules over log files; alerts as a table or NDJSON, summary on stderr."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Self

import click

from taintsigma.cli.output import (
    EXIT_FINDINGS,
    EXIT_USAGE,
    error,
    handle_errors,
    note,
    report,
    warn,
)
from taintsigma.errors import RuleLoadError, TaintSigmaError
from taintsigma.logs.event import Unparsed, get_field
from taintsigma.logs.inputs import InputProblem
from taintsigma.scan.alerts import Alert, alert_json
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
@click.option(
    "--no-cache", is_flag=True,
    help="Compile the rules afresh: neither read nor write the compiled-rule cache.",
)  # fmt: skip
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
    no_cache: bool,
) -> int:
    """Scan INPUTs (log files, folders, .gz files, or - for stdin) with Sigma rules.

    Alerts go to stdout: a table on a terminal, one tab-separated line per alert otherwise
    (file:line, level, rule, host, time, message), or NDJSON with --json or -o FILE. Problems
    and the summary go to stderr. Exit 0 without alerts, 1 with alerts, 2 when an input or a rule could not
    be read (the other inputs are still scanned).

    \b
    Formats (auto recognises each by content, also gzipped and inside folders):
      syslog    RFC 3164 / ISO 8601 / RFC 5424 lines; audit records (audisp-syslog,
                kernel audit:) and Sysmon for Linux <Event> XML inside them too
      journald  journalctl -o json; _TRANSPORT=audit entries and Sysmon entries too
      dmesg     dmesg, plain or -T
      ecs       ECS NDJSON (Elasticsearch exports, Filebeat); Elastic Defend, Auditbeat
                and Auditd Manager process, file and network documents → Sigma's categories
      json      JSON lines already in the rules' own field names
      auditd    /var/log/audit/audit.log, ausearch --raw (execve → process_creation)
    """
    with ExitStack() as stack:
        unparsed_file: _Output | None = None
        if keep_unparsed is not None:
            unparsed_file = stack.enter_context(_open_for_writing(keep_unparsed))
        sink: _Output | None = None
        if output is not None:
            sink = stack.enter_context(_open_for_writing(output))
        elif as_json:
            sink = _Output(sys.stdout.buffer, "standard output", owned=False)

        def on_unparsed(line: Unparsed) -> None:
            if unparsed_file is not None and not line.kept:  # kept lines were parsed
                unparsed_file.write(line.raw.rstrip(b"\r\n") + b"\n")

        compiled = compile_for_scan(
            list(rules) or None, regex_engine=regex_engine, cache=not no_cache,
            on_cache_problem=warn,
        )  # fmt: skip
        if compiled.loaded is not None:  # else served by the cache: a clean rule set
            _report_loading(compiled.loaded)
        load_errors = len(compiled.errors)
        if not compiled.count:
            raise TaintSigmaError("no rule to scan with")
        progress = stack.enter_context(_Progress())
        job = scan_paths(
            inputs,
            compiled,
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
        # On a terminal, a table; otherwise (`> file`, a pipe) one plain line per alert, all.
        table = sink is None and sys.stdout.isatty()
        plain = None
        if sink is None and not table:
            plain = _Output(sys.stdout.buffer, "standard output", owned=False)
        try:
            for alert in job:
                if sink is not None:
                    sink.write(alert_json(alert) + b"\n")
                elif plain is not None:
                    plain.write(plain_line(alert).encode("utf-8", "replace") + b"\n")
                elif len(rows) < TABLE_LIMIT:
                    rows.append(alert)
            for stream in (sink, plain):
                if stream is not None:
                    stream.flush()
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, as grep does.
            progress.stop()
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return EXIT_FINDINGS
        progress.stop()
        for err in job.rules.errors[load_errors:]:  # compile errors, known by now
            report(err)
        if table:
            _print_table(rows, job.summary.alerts)
        _print_summary(job.summary, job.rules.errors[load_errors:])
        if job.summary.errors or job.rules.errors:
            return EXIT_USAGE
        return EXIT_FINDINGS if job.summary.alerts else 0


def _report_loading(loaded: Any) -> None:
    """What loading the rules found: skipped folder links, shared ids, broken files."""
    from taintsigma.rules import loader

    for line in loaded.notes:
        note(line)
    for rule, first in loader.shared_ids(loaded):
        warn(
            str(
                RuleLoadError(
                    loader.shared_id_message(first),
                    path=loader.rule_path(rule),
                    rule_id=loader.rule_id(rule),
                )
            )
        )
    for err in loaded.errors:
        report(err)


def _open_for_writing(path: Path) -> _Output:
    try:
        return _Output(path.open("wb"), path)
    except OSError as err:
        raise TaintSigmaError(f"cannot write: {_reason(err)}", path=path) from err


def _reason(err: OSError) -> str:
    return (err.strerror or str(err)).lower()


class _Output:
    """A file written by ``-o``/``--keep-unparsed``: a failed write (a full disk, /dev/full)
    is one error naming the file, not an internal error."""

    def __init__(self, stream: IO[bytes], path: Path | str, *, owned: bool = True) -> None:
        self._stream = stream
        self._path = path
        self._owned = owned

    def write(self, data: bytes) -> int:
        return self._guard(lambda: self._stream.write(data))

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._owned:
            return
        try:
            self._stream.close()
        except OSError as err:
            if exc[0] is None:  # report only when no other error is on its way
                raise TaintSigmaError(f"cannot write: {_reason(err)}", path=self._path) from err

    def _guard(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except BrokenPipeError:
            raise  # the reader went away (`| head`): the command stops quietly
        except OSError as err:
            raise TaintSigmaError(f"cannot write: {_reason(err)}", path=self._path) from err


def plain_line(alert: Alert) -> str:
    """One alert as one line of tab-separated text: ``file:line``, level, rule, host, time,
    message (tabs and line breaks inside a value become spaces)."""
    fields = alert.event.fields
    host = get_field(fields, "host.hostname") or get_field(fields, "hostname") or ""
    message = get_field(fields, "message") or ""
    values = (
        str(alert.origin) if alert.origin else "",
        alert.rule.level or "",
        alert.rule.name,
        str(host),
        alert.timestamp or "",
        str(message),
    )
    return "\t".join(" ".join(value.split()) for value in values)


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

    console = Console(soft_wrap=False)
    # The table takes the terminal's width: narrow columns give way with an ellipsis, the
    # rule name and the message wrap.
    table = Table(show_lines=False, header_style="bold")
    table.add_column("rule", overflow="fold")
    for name in ("level", "host", "time", "file:line"):
        table.add_column(name, overflow="fold")
    table.add_column("message", overflow="fold")
    for alert in alerts:
        fields = alert.event.fields
        host = get_field(fields, "host.hostname") or get_field(fields, "hostname") or ""
        host = fields.get("node") or fields.get("Computer") or host  # audit, Sysmon
        message = str(get_field(fields, "message") or _summary_text(fields))
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


# What the message column shows for events without a message (audit records, Sysmon and
# process_creation events): the first of these fields they have.
_TEXT_FIELDS = (
    "CommandLine", "proctitle", "TargetFilename", "DestinationHostname", "DestinationIp",
    "name", "cmd", "unit", "cwd", "exe", "Image",
)  # fmt: skip


def _summary_text(fields: Any) -> str:
    kind = fields.get("type") if hasattr(fields, "get") else None
    for name in _TEXT_FIELDS:
        value = fields.get(name) if hasattr(fields, "get") else None
        if isinstance(value, str) and value not in ("", "-"):  # Sysmon writes - for none
            return f"{kind} {name}={value}" if isinstance(kind, str) else value
    if isinstance(kind, str):
        args = [str(fields[f"a{i}"]) for i in range(len(fields)) if f"a{i}" in fields]
        return f"{kind} {' '.join(args)}".strip()
    return ""


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
    # Every line is in one count: these two only when there are some.
    if summary.blank:
        parts.append(f"{summary.blank:,} blank")
    if summary.joined:
        parts.append(f"{summary.joined:,} continuing the line before")
    if summary.truncated:
        parts.append(f"{summary.truncated:,} cut at 10 MiB")
    if summary.damaged:
        parts.append(f"{summary.damaged:,} damaged but kept")
    if summary.derived:
        parts.append(f"{_count(summary.derived, 'event')} built from them")
    errors = len(summary.errors)
    if errors:
        parts.append(f"{errors} unreadable")
    rules = _count(summary.rules - len(rule_errors), "rule")
    alerts = _count(summary.alerts, "alert")
    click.echo(f"scanned {', '.join(parts)} with {rules}: {alerts}", err=True)
    for reason, count in summary.reasons.items():
        click.echo(f"  {count:>8,}  unparsable or damaged: {reason}", err=True)
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
