"""Scan logs with rules: inputs → adapters → compiled matcher → alerts, plus a summary.

>>> scan = scan_paths(["samples/"])                    # doctest: +SKIP
>>> for alert in scan: print(alert.rule.name, alert.origin)   # doctest: +SKIP
>>> scan.summary.alerts_per_rule                        # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from taintsigma.errors import InputError, TaintSigmaError
from taintsigma.logs.base import Adapter
from taintsigma.logs.common import format_timestamp, parse_timezone
from taintsigma.logs.event import Event, Location, Unparsed, get_field
from taintsigma.logs.inputs import (
    READ_ERRORS,
    InputProblem,
    InputSource,
    expand_inputs,
    open_input,
    read_error_message,
    stream_problem,
)
from taintsigma.logs.reader import CHUNK_SIZE, ReadStats, make_searcher, read_lines
from taintsigma.logs.sniff import FORMATS, magic, sniff
from taintsigma.scan.alerts import Alert
from taintsigma.scan.routing import CompiledRules, compile_for_scan
from taintsigma.scan.summary import MAX_REASONS, FileSummary, ScanSummary

if TYPE_CHECKING:  # the loader imports pySigma: only where rules are loaded
    from taintsigma.rules.loader import LoadedRules, PathArg

    Rules = CompiledRules | LoadedRules | PathArg | None

SCAN_FORMATS = ("auto", *FORMATS)
# Below this much input, one process scans everything: forking costs more than it saves.
PARALLEL_MIN_BYTES = 16 << 20
@dataclass(frozen=True, kw_only=True)
class ScanOptions:
    """How to read inputs: format (``auto`` sniffs each input), time zone and reference time."""

    format: str = "auto"
    timezone: tzinfo = UTC
    now: datetime | None = None
    prefilter: bool = True
    keep_unparsed: bool = False

    def adapter(self, name: str) -> Adapter:
        """A fresh adapter for a format name (its module imported now: start-up matters)."""
        if name == "syslog":
            from taintsigma.logs.derive import DerivingAdapter
            from taintsigma.logs.syslog import SyslogAdapter

            return DerivingAdapter(SyslogAdapter(timezone=self.timezone, now=self.now))
        if name == "dmesg":
            from taintsigma.logs.dmesg import DmesgAdapter

            return DmesgAdapter(timezone=self.timezone)
        if name == "journald":
            from taintsigma.logs.derive import DerivingAdapter
            from taintsigma.logs.journald import JournaldAdapter

            return DerivingAdapter(JournaldAdapter())
        if name == "auditd":
            from taintsigma.logs.auditd import AuditdAdapter

            return AuditdAdapter()
        if name == "ecs":
            from taintsigma.logs.ecs_ndjson import EcsNdjsonAdapter

            return EcsNdjsonAdapter()
        if name == "json":
            from taintsigma.logs.json_lines import JsonLinesAdapter

            return JsonLinesAdapter()
        raise TaintSigmaError(f"unknown format {name!r}; use one of {', '.join(SCAN_FORMATS)}")


# What scanning one input yields, in order: alerts, unparsable lines, problems, then its summary.
Item = Alert | Unparsed | InputProblem | FileSummary


class Scan:
    """An ongoing scan: iterate it for alerts, in input order; ``summary`` fills as it goes.

    ``on_problem`` is called with each InputProblem as soon as it is met, ``on_unparsed``
    with each line that could not be parsed, ``on_progress`` with ``(bytes done, bytes total)``.
    """

    def __init__(
        self,
        sources: list[InputSource | InputProblem],
        rules: CompiledRules,
        options: ScanOptions,
        *,
        jobs: int | None = None,
        on_problem: Callable[[InputProblem], None] | None = None,
        on_unparsed: Callable[[Unparsed], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        self.sources = sources
        self.rules = rules
        self.options = options
        self.jobs = jobs
        self.on_problem = on_problem
        self.on_unparsed = on_unparsed
        self.on_progress = on_progress
        self.summary = ScanSummary(rule_errors=list(rules.errors), rules=rules.count)
        self.total_bytes = sum(s.size or 0 for s in sources if isinstance(s, InputSource))
        self._started = False

    def __iter__(self) -> Iterator[Alert]:
        if self._started:
            raise TaintSigmaError(
                "this scan was already iterated: its inputs (stdin, say) may be gone and its "
                "summary is complete; call scan_paths again to scan again"
            )
        self._started = True
        return self._run()

    def _run(self) -> Iterator[Alert]:
        files = [s for s in self.sources if isinstance(s, InputSource)]
        jobs = self.jobs if self.jobs is not None else min(2, os.cpu_count() or 1)
        parallel = jobs > 1 and len(files) > 1 and self.total_bytes >= PARALLEL_MIN_BYTES
        done = 0
        results = self._parallel(jobs) if parallel else self._sequential()
        for item in results:
            if isinstance(item, Alert):
                key = item.rule.id
                name, count = self.summary.alerts_per_rule.get(key, (item.rule.name, 0))
                if name != item.rule.name:  # two rules share an id: count each apart
                    key = f"{item.rule.id} ({item.rule.name})"
                    name, count = self.summary.alerts_per_rule.get(key, (item.rule.name, 0))
                self.summary.alerts_per_rule[key] = (name, count + 1)
                yield item
            elif isinstance(item, Unparsed):
                if self.on_unparsed is not None:
                    self.on_unparsed(item)
            elif isinstance(item, InputProblem):
                self.summary.problems.append(item)
                if self.on_problem is not None:
                    self.on_problem(item)
            elif isinstance(item, FileSummary):
                if item.format is not None:
                    self.summary.files.append(item)
                if parallel and self.on_progress is not None:
                    done += _size(item.path)
                    self.on_progress(done, self.total_bytes)
        self.summary.rule_errors = list(self.rules.errors)

    def _sequential(self) -> Iterator[Item]:
        done = 0
        for source in self.sources:
            if isinstance(source, InputProblem):
                yield source
                continue
            progress = None
            if self.on_progress is not None and source.size:
                progress = _Progress(self.on_progress, done, self.total_bytes)
            yield from iter_source(source, self.rules, self.options, progress=progress)
            done += source.size or 0

    def _parallel(self, jobs: int) -> Iterator[Item]:
        import multiprocessing  # here: most scans are one process, and it costs ~15 ms

        global _WORKER
        # Compile before forking, so that the workers share the compiled rules.
        self.rules.for_format("json" if self.options.format == "json" else "syslog")
        _WORKER = (self.rules, self.options)
        context = multiprocessing.get_context("fork")
        items: list[InputSource | InputProblem] = list(self.sources)
        with context.Pool(jobs) as pool:
            # A worker returns one input's items at once: memory grows with the alerts
            # (and, with --keep-unparsed, the unparsable lines) of one input, not its size.
            for batch in pool.imap(_work, items, chunksize=1):
                yield from batch


@dataclass(frozen=True)
class _Progress:
    report: Callable[[int, int], None]
    base: int
    total: int

    def __call__(self, position: int) -> None:
        self.report(self.base + position, self.total)


_WORKER: tuple[CompiledRules, ScanOptions] | None = None


def _work(item: InputSource | InputProblem) -> list[Item]:
    if isinstance(item, InputProblem):
        return [item]
    assert _WORKER is not None
    return list(iter_source(item, *_WORKER))


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def iter_source(
    source: InputSource,
    rules: CompiledRules,
    options: ScanOptions,
    *,
    progress: Callable[[int], None] | None = None,
) -> Iterator[Item]:
    """Scan one input: yield Alerts, Unparsed lines and InputProblems as they come, then its
    FileSummary. Read errors become InputProblems, never exceptions."""
    summary = FileSummary(path=source.path)
    try:
        stream, compressed = open_input(source)
    except READ_ERRORS as err:
        yield InputProblem(source.path, f"cannot read: {read_error_message(err)}")
        yield summary
        return
    stats = ReadStats()
    try:
        with stream:
            first = stream.read(CHUNK_SIZE)
            name = options.format
            if name == "auto":
                meaning = magic(first)
                if meaning is not None and not compressed:
                    yield InputProblem(source.path, f"skipped: {meaning}", error=source.explicit)
                    yield summary
                    return
                sniffed = sniff(first)
                if sniffed.format is None:
                    # Named on the command line it is an error; met in a folder walk
                    # (/var/log holds wtmp, lastlog, apt's history) it is a note.
                    skipped = "" if source.explicit else "skipped: "
                    yield InputProblem(
                        source.path, f"{skipped}{sniffed.problem}", error=source.explicit
                    )
                    yield summary
                    return
                name = sniffed.format
            summary.format = name
            stats.bytes = len(first)
            yield from _scan_stream(
                stream, first, name, source, rules, options, summary, stats, progress
            )
            damage = stream_problem(stream, stats.bytes)
            if damage is not None:
                yield InputProblem(
                    source.path,
                    f"{damage} after line {stats.lines}; the lines before it were scanned",
                )
    except READ_ERRORS as err:
        summary.lines = stats.lines
        yield InputProblem(
            source.path,
            f"{read_error_message(err)} after line {stats.lines}; the lines before it were scanned",
        )
    except MemoryError:
        yield InputProblem(source.path, "out of memory while reading")
    yield summary


def _scan_stream(
    stream: BinaryIO,
    first: bytes,
    name: str,
    source: InputSource,
    rules: CompiledRules,
    options: ScanOptions,
    summary: FileSummary,
    stats: ReadStats,
    progress: Callable[[int], None] | None,
) -> Iterator[Item]:
    adapter = options.adapter(name)
    ruleset = rules.for_format(name)
    searcher = None
    plan = None
    if options.prefilter and not options.keep_unparsed:
        plan = ruleset.prefilter_plan(adapter)
        if plan is not None and not plan.usable_for(source.path):
            plan = None  # a keyword literal is in the path, which every event carries
        if plan is not None:
            usable = plan.literals or plan.patterns
            searcher = make_searcher(plan.literals, plan.patterns) if usable else _never
    all_lines = plan is None or plan.free is not None
    raw = getattr(stream, "fileobj", None) or stream
    tell = getattr(raw, "tell", None)
    on_chunk = None
    if progress is not None and tell is not None:

        def on_chunk() -> None:
            try:
                progress(tell())
            except (OSError, ValueError):
                pass

    path = source.path
    correlations = ruleset.correlations()
    origin = None
    native = rules.for_format("sigma") if adapter.derives else ruleset
    # Correlations count the events of one schema: derived events of another take no part.
    derived_correlations = correlations if native is ruleset else None
    filters = None
    if name == "auditd" and options.prefilter and not options.keep_unparsed:
        from taintsigma.scan.audit_filters import audit_filters

        filters = audit_filters(ruleset, adapter)  # type: ignore[arg-type]
    try:
        if filters is not None:
            from taintsigma.logs.audit_fast import scan_audit
            from taintsigma.logs.auditd import AuditdAdapter

            assert isinstance(adapter, AuditdAdapter)
            records, processes = filters
            audit = scan_audit(stream, first, adapter, records, processes, path=path, stats=stats)
            for found in audit:
                if found is None:
                    summary.blank += 1
                    continue
                origin = found.origin or origin
                if isinstance(found, Event) and found.derived:
                    yield from _handle(found, native, True, None, summary, derived_correlations)
                else:
                    yield from _handle(found, ruleset, True, None, summary, correlations)
        for line, number, offset, candidate in () if filters is not None else read_lines(
            stream, first=first, searcher=searcher, stats=stats, on_chunk=on_chunk,
            all_lines=all_lines, multiline=adapter.multiline,
        ):  # fmt: skip
            origin = Location(path=path, line=number, offset=offset)
            item = adapter.parse(line, origin)
            if item is None:
                summary.blank += 1
            else:
                yield from _handle(item, ruleset, candidate, plan, summary, correlations)
            if adapter.derives:
                for extra in adapter.derived():
                    yield from _handle(extra, native, True, None, summary, derived_correlations)
        if adapter.derives and filters is None:
            for extra in adapter.finish():
                yield from _handle(extra, native, True, None, summary, derived_correlations)
        if correlations is not None and origin is not None:
            for fired in correlations.flush():
                summary.alerts += 1
                yield correlation_alert(fired, ruleset, origin)
    finally:
        summary.lines = stats.lines
        summary.truncated = stats.truncated
        summary.skipped = stats.lines - stats.yielded
        summary.joined = stats.joined


def _handle(
    item: Event | Unparsed, ruleset: Any, candidate: bool, plan: Any, summary: FileSummary,
    correlations: Any,
) -> Iterator[Item]:  # fmt: skip
    """Match one event (or count one unparsable or damaged line) and yield what it gives."""
    if isinstance(item, Unparsed):
        if item.kept:
            summary.damaged += 1
        else:
            summary.unparsed += 1
        reason = item.reason if len(summary.reasons) < MAX_REASONS else "other reasons"
        summary.reasons[reason] = summary.reasons.get(reason, 0) + 1
        yield item
        return
    if item.derived:
        summary.derived += 1
    else:
        summary.events += 1
    routed, event = ruleset.route(item)  # ECS telemetry: in Sigma's names, to the native rules
    if routed is not ruleset:  # (its lines are always parsed: no prefilter plan applies)
        ruleset, candidate, plan = routed, True, None
    origin = event.origin
    matches = ruleset.matches(event, candidate, plan)
    for match in matches:
        if match.output:
            summary.alerts += 1
            yield Alert(rule=ruleset.info(match.rule), event=event, origin=origin)
    if correlations is not None and matches and origin is not None:
        for alert in _correlate(correlations.feed, event, matches, ruleset, origin):
            summary.alerts += 1
            yield alert


def _correlate(
    feed: Callable[..., list[Any]],
    event: Event,
    matches: list[Any],
    ruleset: Any,
    origin: Location,
) -> list[Alert]:
    stamp = get_field(event.fields, "@timestamp")
    if not isinstance(stamp, str):
        return []  # without a time an event cannot take part in a time window
    try:
        fired = feed(event.fields, matches, stamp)
    except ValueError:
        return []
    return [correlation_alert(alert, ruleset, origin) for alert in fired]


def correlation_alert(fired: Any, ruleset: Any, origin: Location) -> Alert:
    """An Alert for a correlation rule that fired; ``origin`` is where it became certain."""
    start, end = fired.window
    fields = {
        "@timestamp": format_timestamp(datetime.fromtimestamp(end, UTC)),
        "correlation": {
            "rules": list(fired.rules),
            "group": dict(fired.group),
            "event_count": fired.event_count,
            "window": {
                "start": format_timestamp(datetime.fromtimestamp(start, UTC)),
                "end": format_timestamp(datetime.fromtimestamp(end, UTC)),
            },
        },
    }
    return Alert(
        rule=ruleset.info(fired.rule), event=Event(fields=fields, origin=origin), origin=origin
    )


def _never(lowered: bytes, pos: int) -> int:
    return -1


def scan_paths(
    paths: PathArg,
    rules: Rules = None,
    *,
    format: str = "auto",
    timezone: str | tzinfo | None = None,
    now: datetime | None = None,
    prefilter: bool = True,
    keep_unparsed: bool = False,
    jobs: int | None = None,
    regex_engine: str = "re2",
    cache: bool = False,
    on_problem: Callable[[InputProblem], None] | None = None,
    on_unparsed: Callable[[Unparsed], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Scan:
    """Scan files, folders, ``.gz`` files or ``-`` (stdin) with rules; iterate for alerts.

    ``paths`` is one path or several. ``rules`` is what :func:`taintsigma.load_rules`
    returns, or a path or paths to load (default: the bundled rules). A Scan is iterated
    once; iterating it again raises TaintSigmaError. ``format`` is ``auto`` (sniff each input) or one of ``syslog``,
    ``journald``, ``dmesg``, ``ecs``, ``json``. ``timezone`` (``local``, ``UTC``, ``+02:00``,
    an IANA name; default ``local``) reads time stamps that carry no offset; ``now`` is the
    reference for the year of RFC 3164 time stamps. With ``keep_unparsed`` every line is
    parsed (no prefilter), so ``on_unparsed`` sees every line that cannot be.
    ``regex_engine="re"`` runs rule regexes RE2 refuses in Python's backtracking engine.
    ``cache`` reads and writes rules given as paths (or the bundled ones) through the
    compiled-rule cache (``$XDG_CACHE_HOME/taintsigma``, see docs/scan.md), as ``taintsigma
    scan`` does. Inputs that cannot be read become ``summary.problems``; the scan goes on. A rule that
    cannot be compiled is in ``summary.rule_errors`` once the scan is done.

    >>> scan = scan_paths(["/var/log/syslog"], timezone="UTC")   # doctest: +SKIP
    >>> alerts = list(scan); scan.summary.lines                  # doctest: +SKIP
    """
    if format not in SCAN_FORMATS:
        raise TaintSigmaError(f"unknown format {format!r}; use one of {', '.join(SCAN_FORMATS)}")
    zone = timezone if isinstance(timezone, tzinfo) else parse_timezone(timezone)
    options = ScanOptions(
        format=format,
        timezone=zone,
        now=now,
        prefilter=prefilter,
        keep_unparsed=keep_unparsed,
    )
    compiled = (
        rules
        if isinstance(rules, CompiledRules)
        else compile_for_scan(rules, regex_engine=regex_engine, cache=cache)
    )
    sources = list(expand_inputs(paths))
    return Scan(
        sources,
        compiled,
        options,
        jobs=jobs,
        on_problem=on_problem,
        on_unparsed=on_unparsed,
        on_progress=on_progress,
    )


def sniff_path(path: str | Path) -> str | None:
    """The format ``auto`` would choose for one file (``None``: not a log format we read)."""
    for source in expand_inputs([path]):
        with _open_or_raise(source) as stream:
            return sniff(stream.read(CHUNK_SIZE)).format
    return None


def read_events(
    path: str | Path,
    *,
    format: str = "auto",
    timezone: str | tzinfo | None = None,
    now: datetime | None = None,
) -> Iterator[Event | Unparsed]:
    """Parse every line of one input into Events and Unparsed lines (blank lines skipped),
    followed by the events built from them (``Event.derived``: process_creation events from
    audit records, the audit records and Sysmon events inside syslog lines or journal entries)
    and notes on damaged lines kept (``Unparsed.kept``).

    ``timezone`` reads time stamps without an offset, as in :func:`scan_paths` (default:
    ``local``, as ``taintsigma scan``). Raises InputError when the input cannot be read or
    its format not recognised, or, after yielding every line before it, at a damaged end
    (a truncated ``.gz``).

    >>> [e.fields["message"] for e in read_events("samples/syslog")][:1]  # doctest: +SKIP
    ['Linux version 6.1.0-26-amd64 …']
    """
    zone = timezone if isinstance(timezone, tzinfo) else parse_timezone(timezone)
    options = ScanOptions(format=format, timezone=zone, now=now)
    for source in expand_inputs([path]):
        with _open_or_raise(source) as stream:
            first = stream.read(CHUNK_SIZE)
            name = format
            if name == "auto":
                sniffed = sniff(first)
                if sniffed.format is None:
                    raise InputError(sniffed.problem or "unknown format", path=source.path)
                name = sniffed.format
            adapter = options.adapter(name)
            stats = ReadStats(bytes=len(first))
            lines = read_lines(stream, first=first, stats=stats, multiline=adapter.multiline)
            for line, number, offset, _ in lines:
                item = adapter.parse(line, Location(path=source.path, line=number, offset=offset))
                if item is not None:
                    yield item
                if adapter.derives:
                    yield from adapter.derived()
            if adapter.derives:
                yield from adapter.finish()
            damage = stream_problem(stream, stats.bytes)
            if damage is not None:
                raise InputError(f"{damage} after line {stats.lines}", path=source.path)


@contextmanager
def _open_or_raise(source: InputSource | InputProblem) -> Iterator[BinaryIO]:
    """Open one input of sniff_path or read_events: any problem or read error is an InputError."""
    if isinstance(source, InputProblem):
        raise InputError(source.message, path=source.path)
    try:
        stream, _ = open_input(source)
        with stream:
            yield stream
    except READ_ERRORS as err:
        raise InputError(read_error_message(err), path=source.path) from err


def scan_events(
    events: Iterable[Event], rules: Rules = None, *, format: str = "syslog"
) -> Iterator[Alert]:
    """Match already-built events (for example from an adapter) against rules.

    ``format`` chooses the field schema: ``json`` for events in the rules' own field names,
    any other for ECS documents.
    """
    compiled = rules if isinstance(rules, CompiledRules) else compile_for_scan(rules)
    ruleset = compiled.for_format(format)
    for original in events:
        view, event = ruleset.route(original)
        for info in view.match(event):
            yield Alert(rule=info, event=event, origin=event.origin)


__all__ = [
    "FileSummary",
    "Scan",
    "ScanOptions",
    "ScanSummary",
    "read_events",
    "scan_events",
    "scan_paths",
    "sniff_path",
]
