"""One rule set converted for several targets (``convert -t all``): a forked process per target.

pySigma's pipelines rewrite rules in place, so each target needs a working copy of the rules.
In one process that copy is a pickle round trip (about 0.5 s on SigmaHQ's 3,141 rules), and
the cycle collector must then walk the copy to free it (about 1 s more per target). A process
forked for a target gets its copy from the kernel (copy-on-write pages), converts it in place,
sends back only the query texts, warnings and errors, and exits without freeing anything. Up to
``jobs`` targets convert at once; results come back in target order.

Where fork is missing (Windows; on macOS forking is unsafe) or with ``jobs=0``, the targets
convert one after another in this process, each but the last on a copy: the same results, and
the tracebacks ``--debug`` prints.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from taintsigma.convert.conversion import ConversionReport, convert_rules
from taintsigma.convert.targets import Target
from taintsigma.errors import ConversionError, ErrorPolicy, TaintSigmaError
from taintsigma.rules.loader import LoadedRules


@dataclass(frozen=True)
class Query:
    """One rule's query text for one target (a :class:`Conversion` without the rule object)."""

    rule_id: str
    stem: str
    extension: str
    query: str
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetQueries:
    """What converting the rules for one target gave: queries in rule order, per-rule errors."""

    target: Target
    queries: list[Query]
    errors: list[TaintSigmaError]


def default_jobs() -> int:
    """One process per core this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def convert_each(
    rules: LoadedRules,
    targets: Sequence[Target],
    options: Sequence[str] = (),
    *,
    jobs: int,
) -> Iterator[TargetQueries]:
    """Convert ``rules`` for each target (with the ``options`` it has), in target order.

    Rule errors are collected per target. ``rules`` is left as loaded when ``jobs`` > 0 and the
    platform forks; otherwise the last target converts it in place (the caller hands it over).
    """
    if jobs > 0 and sys.platform == "linux":
        yield from _forked(rules, targets, options, jobs)
    else:
        yield from _in_process(rules, targets, options)


def _usable(target: Target, options: Sequence[str]) -> tuple[str, ...]:
    return tuple(o for o in options if o in target.options)


def _convert(rules: LoadedRules, target: Target, options: Sequence[str], *, consume: bool) -> Any:
    report = convert_rules(
        rules, target, options=_usable(target, options), on_error=ErrorPolicy.COLLECT,
        consume=consume,
    )  # fmt: skip
    return _queries(target, report)


def _queries(target: Target, report: ConversionReport) -> TargetQueries:
    queries = [
        Query(c.rule_id, c.stem, c.extension, c.query, c.warnings) for c in report.conversions
    ]
    return TargetQueries(target, queries, report.errors)


def _in_process(
    rules: LoadedRules, targets: Sequence[Target], options: Sequence[str]
) -> Iterator[TargetQueries]:
    for number, target in enumerate(targets, start=1):
        last = number == len(targets)
        result = _convert(rules, target, options, consume=last)  # the last needs no copy
        for failure in result.errors:
            _drop_locals(failure)
        yield result
        if not last:  # this target's working copy of the rules is cyclic garbage now:
            result = None  # collected before the next target's copy is made
            gc.collect()


def _drop_locals(error: BaseException) -> None:
    """Clear the local variables of the (finished) frames an error's traceback holds.

    They include the target's working copy of every rule: kept, six targets held six copies.
    ``--debug`` still prints the traceback (files and lines need no locals).
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        traceback.clear_frames(current.__traceback__)
        current = current.__cause__ or current.__context__


def _forked(
    rules: LoadedRules, targets: Sequence[Target], options: Sequence[str], jobs: int
) -> Iterator[TargetQueries]:
    import multiprocessing  # here: a single target never needs it (~15 ms to import)
    from multiprocessing.connection import Connection, wait

    context = multiprocessing.get_context("fork")
    waiting = list(enumerate(targets))
    running: dict[Connection, tuple[int, Any]] = {}
    finished: dict[int, TargetQueries | BaseException] = {}
    given = 0  # results yielded so far: they go out in target order
    try:
        while given < len(targets):
            while waiting and len(running) < jobs:
                index, target = waiting.pop(0)
                receiver, sender = context.Pipe(duplex=False)
                sys.stdout.flush()  # a forked child flushes its copy of unwritten output
                sys.stderr.flush()
                child = context.Process(
                    target=_child, args=(sender, rules, target, options), daemon=True
                )
                child.start()
                sender.close()
                running[receiver] = (index, child)
            for ready in wait(list(running)):
                assert isinstance(ready, Connection)
                index, child = running.pop(ready)
                finished[index] = _receive(ready, child, targets[index])
            while given in finished:
                result = finished.pop(given)
                if isinstance(result, BaseException):
                    raise result
                yield result
                given += 1
    finally:  # an error, Ctrl-C, or a caller that stops early: no child outlives the run
        for receiver, (_, child) in running.items():
            child.terminate()
            child.join()
            receiver.close()


def _child(sender: Any, rules: LoadedRules, target: Target, options: Sequence[str]) -> None:
    """A forked process: convert this process's copy of the rules in place, send the result."""
    gc.disable()  # nothing is freed before this process exits: no collection is needed
    try:
        result = _convert(rules, target, options, consume=True)
        payload: Any = (result.queries, result.errors)  # the parent has the target
        try:
            data = pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)
        except Exception:  # noqa: BLE001 - an error holding something that does not pickle
            payload = (result.queries, [_portable(e) for e in result.errors])
            data = pickle.dumps(payload, pickle.HIGHEST_PROTOCOL)
    except BaseException as err:  # noqa: BLE001 - an internal error: the parent raises it
        data = pickle.dumps(_portable(err), pickle.HIGHEST_PROTOCOL)
    sender.send_bytes(data)
    sender.close()


def _portable(err: Any) -> Any:
    """``err`` if it survives pickling (taintsigma's errors do), else the same line in an error
    that does: a TaintSigmaError for a rule's error, a RuntimeError for an internal one."""
    try:
        return pickle.loads(pickle.dumps(err, pickle.HIGHEST_PROTOCOL))
    except Exception:  # noqa: BLE001 - a type that cannot be rebuilt from its pickle
        if isinstance(err, TaintSigmaError):
            return TaintSigmaError(err.cli_message())
        return RuntimeError(f"{type(err).__name__}: {err}")


def _receive(receiver: Any, child: Any, target: Target) -> TargetQueries | BaseException:
    try:
        data = receiver.recv_bytes()
    except EOFError:  # the child died before sending (killed, out of memory)
        data = None
    finally:
        receiver.close()
        child.join()
    if data is None:
        return ConversionError(
            f"the process converting for target '{target.id}' ended without a result "
            f"(exit code {child.exitcode})"
        )
    result = pickle.loads(data)  # bytes our own child process made
    if isinstance(result, BaseException):
        return result
    queries, errors = result
    return TargetQueries(target, queries, errors)
