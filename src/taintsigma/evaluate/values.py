"""Compile Sigma values (pySigma's typed values, modifiers applied) into fast predicates."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import re2
from sigma.types import (
    CompareOperators,
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
    TimestampPart,
)

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


def regex_source(value: SigmaRegularExpression) -> str:
    """The pattern text of a ``re`` value, with its ``i``/``m``/``s`` flags inline."""
    flags = "".join(
        letter
        for flag, letter in (
            (SigmaRegularExpressionFlag.IGNORECASE, "i"),
            (SigmaRegularExpressionFlag.MULTILINE, "m"),
            (SigmaRegularExpressionFlag.DOTALL, "s"),
        )
        if flag in value.flags
    )
    pattern = str(value.regexp)
    return f"(?{flags}){pattern}" if flags else pattern


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


def string_pattern(value: SigmaString, ctx: CompileContext) -> StringPattern:
    """Reduce a SigmaString (wildcards ``*``/``?``, escapes already parsed) to a StringPattern."""
    cased = isinstance(value, SigmaCasedString)
    fold_part = (lambda s: s) if cased else fold
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise _no_placeholder_values(ctx, part.name)
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        elif part is SpecialChars.WILDCARD_MULTI and parts and parts[-1] is part:
            continue  # '**' is '*'
        else:
            parts.append(part)
    if SpecialChars.WILDCARD_SINGLE in parts:
        regex = "".join(
            re2.escape(fold_part(p))
            if isinstance(p, str)
            else (".*" if p is SpecialChars.WILDCARD_MULTI else ".")
            for p in parts
        )
        return StringPattern("wild", cased, regex=f"(?s){regex}")
    segments: list[str] = [""]
    for p in parts:
        if isinstance(p, str):
            segments[-1] += fold_part(p)
        else:
            segments.append("")
    if len(segments) == 1:
        return StringPattern("eq", cased, literal=segments[0])
    if len(segments) == 2 and segments[1] == "":
        return StringPattern("prefix", cased, literal=segments[0])
    if len(segments) == 2 and segments[0] == "":
        return StringPattern("suffix", cased, literal=segments[1])
    if len(segments) == 3 and segments[0] == segments[2] == "":
        return StringPattern("contains", cased, literal=segments[1])
    return StringPattern("glob", cased, segments=tuple(segments))


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


_COMPARE: dict[CompareOperators, Callable[[Any, Any], bool]] = {
    CompareOperators.LT: lambda a, b: a < b,
    CompareOperators.LTE: lambda a, b: a <= b,
    CompareOperators.GT: lambda a, b: a > b,
    CompareOperators.GTE: lambda a, b: a >= b,
    CompareOperators.NEQ: lambda a, b: a != b,
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


_TIME_PART: dict[TimestampPart, Callable[[datetime], int]] = {
    TimestampPart.MINUTE: lambda t: t.minute,
    TimestampPart.HOUR: lambda t: t.hour,
    TimestampPart.DAY: lambda t: t.day,
    TimestampPart.WEEK: lambda t: t.isocalendar().week,
    TimestampPart.MONTH: lambda t: t.month,
    TimestampPart.YEAR: lambda t: t.year,
}


def _number_reader(number: SigmaNumber) -> Callable[[Any], int | float | None]:
    if isinstance(number, SigmaTimestampPart):
        part = _TIME_PART[number.timestamp_part]

        def read_part(value: Any) -> int | None:
            moment = as_datetime(value)
            return part(moment) if moment is not None else None

        return read_part
    return as_number


def scalar_test(value: SigmaType, ctx: CompileContext) -> ScalarTest:
    """A test of one non-null event value against a non-string Sigma value."""
    if isinstance(value, SigmaCompareExpression):
        read = _number_reader(value.number)
        op, wanted = _COMPARE[value.op], value.number.number

        def compare(event_value: Any) -> bool:
            got = read(event_value)
            return got is not None and op(got, wanted)

        return compare
    if isinstance(value, SigmaNumber):
        read, wanted = _number_reader(value), value.number
        return lambda event_value: read(event_value) == wanted
    if isinstance(value, SigmaBool):
        wanted_bool = value.boolean
        text = "true" if wanted_bool else "false"
        return lambda event_value: (
            event_value is wanted_bool
            or (isinstance(event_value, str) and fold(event_value.strip()) == text)
        )
    if isinstance(value, SigmaCIDRExpression):
        return _cidr_test(value)
    raise ctx.error(f"value {value!r} of type {type(value).__name__} is not supported")


def _cidr_test(value: SigmaCIDRExpression) -> ScalarTest:
    network = value.network

    def in_network(event_value: Any) -> bool:
        if not isinstance(event_value, str):
            return False
        try:
            address = ipaddress.ip_address(event_value.strip())
        except ValueError:
            return False
        return address.version == network.version and address in network

    return in_network


def flatten_values(values: Sequence[SigmaType], ctx: CompileContext) -> list[SigmaType]:
    """OR-linked values: expansions (windash, base64offset) unrolled, placeholders expanded."""
    flat: list[SigmaType] = []
    for value in values:
        if isinstance(value, SigmaExpansion):
            flat.extend(flatten_values(value.values, ctx))
        elif (
            isinstance(value, (SigmaString, SigmaRegularExpression))
            and value.contains_placeholder()
        ):
            flat.extend(flatten_values(value.replace_placeholders(_placeholder_values(ctx)), ctx))
        else:
            flat.append(value)
    return flat


def _placeholder_values(ctx: CompileContext) -> Callable[[Placeholder], list[SigmaString]]:
    def replace(placeholder: Placeholder) -> list[SigmaString]:
        values = ctx.placeholders.get(placeholder.name)
        if values is None:
            raise _no_placeholder_values(ctx, placeholder.name)
        return [SigmaString(str(v)) for v in values]

    return replace


def _no_placeholder_values(ctx: CompileContext, name: str) -> RuleCompileError:
    return ctx.error(
        f"placeholder %{name}% has no values",
        hint=f"pass placeholders={{'{name}': [...]}}",
        cli_hint=f"the command line cannot give placeholder values: replace %{name}% in the rule",
    )


def _shown(pattern: str, limit: int = 80) -> str:
    """A pattern quoted for a one-line message, cut when long (a huge value list makes one)."""
    if len(pattern) <= limit:
        return repr(pattern)
    return f"{pattern[:limit]!r}… ({len(pattern):,} characters)"
