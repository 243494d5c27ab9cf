"""Translate a Sigma ``re`` pattern into an exact, finite set of ``*`` wildcard values.

A query language without regular expressions (Kibana KQL) can still express a pattern whose
search finds exactly the values that some few wildcard values match: ``-D`` is ``*-D*``,
``\\s-O\\s`` the 36 values ``*<ws>-O<ws>*`` over the six characters of ``\\s``. The pattern is
read by taintsigma.convert.regex_translate's front end (Python's parser, the same alternatives
and anchors, PCRE's ASCII classes). :func:`regex_to_wildcards` accepts literals, escapes,
classes and bounded repetitions whose values stay within :data:`MAX_VALUES`, alternations, and
``.*`` where ``.`` also matches a newline (``s`` flag) or where it only skips the unanchored start
or end of the search; it raises RegexNotTranslatable for anything else (a negated class, ``.``,
unbounded repetition, anchors inside, a case-insensitive pattern, too many values).
docs/semantics.md ("Regular expressions") lists the rules.

The values are exact for a case-sensitive field (keyword or wildcard) matched by ``*`` wildcards
that stand for any characters, newlines included: the value matches one of them if and only if
the search finds the pattern in it.
"""

from __future__ import annotations

import re
from re import _constants as C  # type: ignore[attr-defined]
from typing import Any

from taintsigma.convert.regex_translate import (
    REFUSED_CONSTRUCTS,
    RegexNotTranslatable,
    class_chars,
    search_alternatives,
)

# At most this many values: a pattern needing more is refused (a query of hundreds of values
# is unreadable and slow; SigmaHQ's \s-[FTd]\s needs 108).
MAX_VALUES = 128
WILDCARD = None  # a '*' in a value, among its characters

Value = tuple[str | None, ...]

_START = {C.AT_BEGINNING, C.AT_BEGINNING_STRING}
_END = {C.AT_END, C.AT_END_STRING}


def regex_to_wildcards(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False, dotall: bool = False
) -> list[Value]:
    """The wildcard values (characters, ``WILDCARD`` for ``*``) that match exactly the values in
    which the search for ``pattern`` succeeds; raise RegexNotTranslatable if there are none.

    >>> [''.join(c or '*' for c in v) for v in regex_to_wildcards('-D')]
    ['*-D*']
    >>> [''.join(c or '*' for c in v) for v in regex_to_wildcards('^(sshd|sudo)$')]
    ['sshd', 'sshd\\n', 'sudo', 'sudo\\n']
    >>> len(regex_to_wildcards(r'\\s-[FTd]\\s'))
    108
    """
    alternatives, flags = search_alternatives(
        pattern, ignore_case=ignore_case, multiline=multiline, dotall=dotall
    )
    values: dict[Value, None] = {}
    for items in alternatives:
        for value in _alternative(list(items), flags):
            values[_collapse(value)] = None
            if len(values) > MAX_VALUES:
                raise _too_many()
    return list(values)


def _too_many() -> RegexNotTranslatable:
    return RegexNotTranslatable(f"it stands for more than {MAX_VALUES} wildcard values")


def _alternative(items: list[Any], flags: int) -> list[Value]:
    """The values of one top-level alternative, its anchors (if any) first or last."""
    newline = "\n"
    prefixes: list[Value] = [(WILDCARD,)]
    suffixes: list[Value] = [(WILDCARD,)]
    if items and items[0][0] is C.AT and items[0][1] in _START:
        at = items.pop(0)[1]
        # '^' with 'm' also matches after any newline
        multi = at is C.AT_BEGINNING and flags & re.MULTILINE
        prefixes = [(), (WILDCARD, newline)] if multi else [()]
    if items and items[-1][0] is C.AT and items[-1][1] in _END:
        at = items.pop()[1]
        if at is C.AT_END_STRING:
            suffixes = [()]
        elif flags & re.MULTILINE:
            suffixes = [(), (newline, WILDCARD)]  # before any newline
        else:
            suffixes = [(), (newline,)]  # Python and PCRE: also before a final newline
    # An unanchored search skips what may match nothing at its ends: '.*x' finds as 'x'.
    if prefixes == [(WILDCARD,)]:
        while items and _can_be_empty(items[0]):
            items.pop(0)
    if suffixes == [(WILDCARD,)]:
        while items and _can_be_empty(items[-1]):
            items.pop()
    return _product(_product(prefixes, _sequence(items, flags)), suffixes)


def _can_be_empty(item: tuple[Any, Any]) -> bool:
    return item[0] in (C.MAX_REPEAT, C.MIN_REPEAT) and item[1][0] == 0


def _product(left: list[Value], right: list[Value]) -> list[Value]:
    if len(left) * len(right) > MAX_VALUES:
        raise _too_many()
    return [a + b for a in left for b in right]


def _union(groups: list[list[Value]]) -> list[Value]:
    merged = list(dict.fromkeys(value for group in groups for value in group))
    if len(merged) > MAX_VALUES:
        raise _too_many()
    return merged


def _sequence(items: list[Any], flags: int) -> list[Value]:
    values: list[Value] = [()]
    for op, av in items:
        values = _product(values, _node(op, av, flags))
    return values


def _node(op: object, av: Any, flags: int) -> list[Value]:
    if flags & re.IGNORECASE:
        raise RegexNotTranslatable(
            "a case-insensitive pattern: the field's wildcard values are case-sensitive"
        )
    if op is C.LITERAL:
        return [(chr(av),)]
    if op is C.IN:
        chars, negate = class_chars(av, flags)
        if negate:
            raise RegexNotTranslatable("a negated class matches too many characters to list")
        count = sum(hi - lo + 1 for lo, hi in chars)
        if count > MAX_VALUES:
            raise _too_many()
        return [(chr(code),) for lo, hi in chars for code in range(lo, hi + 1)]
    if op is C.BRANCH:
        return _union([_sequence(list(branch), flags) for branch in av[1]])
    if op is C.SUBPATTERN:
        _group, add, remove, inner = av
        return _sequence(list(inner), (flags | add) & ~remove)
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        return _repeat(av, flags)  # laziness changes which match is found, not whether
    if op is C.NOT_LITERAL:
        raise RegexNotTranslatable("a negated character matches too many characters to list")
    if op is C.ANY:
        raise RegexNotTranslatable("'.' is one character, and a wildcard value has no '?'")
    if op is C.AT:
        raise RegexNotTranslatable("an anchor or word boundary inside the pattern")
    name = REFUSED_CONSTRUCTS.get(op, f"the construct {op}")
    raise RegexNotTranslatable(f"{name} has no wildcard form")


def _repeat(av: Any, flags: int) -> list[Value]:
    low, high, inner = av
    unbounded = high is C.MAXREPEAT or high == C.MAXREPEAT
    if unbounded:
        if low == 0 and list(inner) == [(C.ANY, None)]:
            if flags & re.DOTALL:
                return [(WILDCARD,)]
            raise RegexNotTranslatable(
                "'.*' inside the pattern: '.' does not match a newline, but '*' does"
            )
        raise RegexNotTranslatable("an unbounded repetition other than '.*'")
    once = _sequence(list(inner), flags)
    found: dict[Value, None] = {}
    values: list[Value] = [()]
    for count in range(high + 1):
        if count >= low:
            found.update(dict.fromkeys(values))
            if len(found) > MAX_VALUES:
                raise _too_many()
            if once == [()]:
                break  # repeating what matches only the empty string changes nothing
        if count < high:
            values = _product(values, once)
    return list(found)


def _collapse(value: Value) -> Value:
    """``value`` with runs of ``*`` written once."""
    out: list[str | None] = []
    for char in value:
        if char is WILDCARD and out and out[-1] is WILDCARD:
            continue
        out.append(char)
    return tuple(out)
