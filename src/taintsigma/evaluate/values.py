"""Compile plain value specs (see evaluate/plan.py) into fast predicates; no pySigma here."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import re2

from taintsigma.errors import RuleCompileError

TextTest = Callable[[str], bool]
ScalarTest = Callable[[Any], bool]

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False
_UNANCHORED = re2._re2.RE2.Anchor.UNANCHORED
_ANCHOR_BOTH = re2._re2.RE2.Anchor.ANCHOR_BOTH
_MANY_LITERALS = 12  # from this many `contains` literals on, one alternation beats a loop


@dataclass
class CompileContext:
    """What compiling one rule needs to know: its id (for errors) and the caller's options."""

    rule_id: str
    regex_engine: str = "re2"
    placeholders: dict[str, list[str]] = field(default_factory=dict)
    # Fields searched by keywords (unbound values); None searches every value of the event.
    keyword_fields: tuple[str, ...] | None = None

    def error(
        self, construct: str, *, hint: str | None = None, cli_hint: str | None = None
    ) -> RuleCompileError:
        return RuleCompileError(
            f"rule {self.rule_id}: {construct}", rule_id=self.rule_id, hint=hint, cli_hint=cli_hint
        )


# --- regular expressions -----------------------------------------------------------------


def compile_regex(pattern: str, ctx: CompileContext, *, anchored: bool = False) -> TextTest:
    """A search (or, ``anchored``, a full match) of ``pattern`` in RE2, or Python's ``re``.

    RE2 runs in linear time, so a hostile pattern cannot hang a scan; a pattern it cannot
    compile (look-around, back-references, possessive quantifiers) raises RuleCompileError
    unless the caller chose ``regex_engine="re"``.
    """
    if ctx.regex_engine == "re":
        try:
            compiled = re.compile(pattern)
        except re.error as err:
            raise ctx.error(f"invalid regular expression {pattern!r}: {err}") from err
        run = compiled.fullmatch if anchored else compiled.search
        return lambda text: run(text) is not None
    program = re2._re2.RE2(pattern.encode("utf-8", "surrogatepass"), _RE2_OPTIONS)
    if not program.ok():
        raise ctx.error(
            f"regular expression {_shown(pattern)} cannot run in RE2 "
            f"({program.error().decode(errors='replace')})",
            hint="compile with regex_engine='re' to use Python's backtracking engine",
            cli_hint="scan with --regex-engine re to use Python's backtracking engine",
        )
    anchor = _ANCHOR_BOTH if anchored else _UNANCHORED
    match = program.Match

    def search(text: str) -> bool:
        data = text.encode("utf-8", "surrogatepass")
        return match(anchor, data, 0, len(data))[0][0] != -1

    return search


# --- strings with wildcards --------------------------------------------------------------


@dataclass(frozen=True)
class StringPattern:
    """A SigmaString reduced to its cheapest check.

    ``kind`` is ``eq``, ``prefix``, ``suffix``, ``contains``, ``glob`` (only ``*``: segments
    found in order) or ``wild`` (``?`` too: an anchored RE2 pattern). Literals are case-folded
    (:func:`fold`) unless ``cased``.
    """

    kind: str
    cased: bool
    literal: str = ""
    segments: tuple[str, ...] = ()
    regex: str = ""


def fold(text: str) -> str:
    """The one case fold of rule literals and event text alike: Unicode full case folding.

    ``str.lower`` is not a case fold: ``"ΟΔΟΣ".lower()`` ends in the final sigma ``ς`` while
    ``"Σ".lower()`` is ``σ``, so a rule's ``Σ`` would not be found in ``ΟΔΟΣ``; ``casefold`` maps
    both to ``σ`` (and ``ß`` to ``ss``). ASCII text folds as ``lower`` does, keeping its length.
    """
    return text.casefold()


def _glob_test(segments: tuple[str, ...]) -> TextTest:
    first, *middle, last = segments
    least = len(first) + len(last) + sum(map(len, middle))

    def glob(text: str) -> bool:
        if len(text) < least or not text.startswith(first) or not text.endswith(last):
            return False
        pos, end = len(first), len(text) - len(last)
        for segment in middle:
            found = text.find(segment, pos, end)
            if found < 0:
                return False
            pos = found + len(segment)
        return True

    return glob


def text_test(patterns: Sequence[StringPattern], ctx: CompileContext) -> TextTest:
    """One test of a text against OR-linked patterns of the same case mode (pre-folded text)."""
    eqs = frozenset(p.literal for p in patterns if p.kind == "eq")
    prefixes = tuple(p.literal for p in patterns if p.kind == "prefix")
    suffixes = tuple(p.literal for p in patterns if p.kind == "suffix")
    contains = tuple(dict.fromkeys(p.literal for p in patterns if p.kind == "contains"))
    others: list[TextTest] = [_glob_test(p.segments) for p in patterns if p.kind == "glob"]
    others += [compile_regex(p.regex, ctx, anchored=True) for p in patterns if p.kind == "wild"]
    tests: list[TextTest] = []
    if len(eqs) == 1:
        (only,) = eqs
        tests.append(only.__eq__)
    elif eqs:
        tests.append(eqs.__contains__)
    if prefixes:
        tests.append(lambda text: text.startswith(prefixes))
    if suffixes:
        tests.append(lambda text: text.endswith(suffixes))
    if "" in contains:
        tests.append(lambda text: True)
    elif len(contains) == 1:
        (needle,) = contains
        tests.append(lambda text: needle in text)
    elif len(contains) >= _MANY_LITERALS:
        # An alternation of plain literals: no backtracking blow-up is possible in `re`.
        search = re.compile("|".join(map(re.escape, contains))).search
        tests.append(lambda text: search(text) is not None)
    elif contains:
        tests.append(lambda text: any(needle in text for needle in contains))
    tests.extend(others)
    if len(tests) == 1:
        return tests[0]
    return lambda text: any(test(text) for test in tests)


# --- numbers, booleans, networks, time ---------------------------------------------------


def as_number(value: Any) -> int | float | None:
    """The number an event value holds: ints and floats, or text that parses as one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        # A decimal numeral only: Python's int() and float() also read "1_0", "inf", "nan"
        # and non-ASCII digits, which no SIEM takes for a number.
        text = value.strip()
        if _INTEGER.fullmatch(text):
            return int(text, 10)
        if _DECIMAL.fullmatch(text):
            return float(text)
    return None


_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "neq": lambda a, b: a != b,
}


def as_datetime(value: Any) -> datetime | None:
    """An event value as a point in time: a datetime, ISO 8601 text, or epoch seconds.

    Numbers from 10^11 on are taken as epoch milliseconds. Times keep their own offset; epoch
    times are UTC.
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value / 1000 if abs(value) >= 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            number = as_number(value)
            return as_datetime(number) if number is not None else None
    return None


_TIME_PART: dict[str, Callable[[datetime], int]] = {
    "minute": lambda t: t.minute,
    "hour": lambda t: t.hour,
    "day": lambda t: t.day,
    "week": lambda t: t.isocalendar().week,
    "month": lambda t: t.month,
    "year": lambda t: t.year,
}


def _number_reader(part: str | None) -> Callable[[Any], int | float | None]:
    """Reads a number from an event value, or (``part``: ``minute`` … ``year``) that part of
    the point in time it holds."""
    if part is not None:
        take = _TIME_PART[part]

        def read_part(value: Any) -> int | None:
            moment = as_datetime(value)
            return take(moment) if moment is not None else None

        return read_part
    return as_number


def scalar_test(spec: Sequence[Any], ctx: CompileContext) -> ScalarTest:
    """A test of one non-null event value against a non-string value spec: ``("num", n,
    part)``, ``("cmp", op, n, part)``, ``("bool", b)`` or ``("cidr", network)``."""
    kind = spec[0]
    if kind == "cmp":
        _, op_name, wanted, part = spec
        read, op = _number_reader(part), _COMPARE[op_name]
        _check_number(wanted)

        def compare(event_value: Any) -> bool:
            got = read(event_value)
            return got is not None and op(got, wanted)

        return compare
    if kind == "num":
        _, wanted, part = spec
        read = _number_reader(part)
        _check_number(wanted)
        return lambda event_value: read(event_value) == wanted
    if kind == "bool":
        wanted_bool = spec[1]
        if not isinstance(wanted_bool, bool):
            raise TypeError(f"not a boolean: {wanted_bool!r}")
        text = "true" if wanted_bool else "false"
        return lambda event_value: (
            event_value is wanted_bool
            or (isinstance(event_value, str) and fold(event_value.strip()) == text)
        )
    if kind == "cidr":
        return _cidr_test(ipaddress.ip_network(spec[1]))
    raise ctx.error(f"value spec {kind!r} is not supported")


def _check_number(value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"not a number: {value!r}")


def _cidr_test(network: ipaddress.IPv4Network | ipaddress.IPv6Network) -> ScalarTest:
    def in_network(event_value: Any) -> bool:
        if not isinstance(event_value, str):
            return False
        try:
            address = ipaddress.ip_address(event_value.strip())
        except ValueError:
            return False
        return address.version == network.version and address in network

    return in_network


def _shown(pattern: str, limit: int = 80) -> str:
    """A pattern quoted for a one-line message, cut when long (a huge value list makes one)."""
    if len(pattern) <= limit:
        return repr(pattern)
    return f"{pattern[:limit]!r}… ({len(pattern):,} characters)"
