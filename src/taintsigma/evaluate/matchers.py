"""Compile plans' detection trees (evaluate/plan.py) into closures over events.

A compiled node is ``node(event, memo) -> bool``: ``event`` is the event mapping, ``memo`` a
dict shared by every rule tried on the same event (lower-cased field values are computed once
per event, not once per rule).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from taintsigma.evaluate.fields import MISSING, as_text, compile_getter, iter_strings
from taintsigma.evaluate.values import (
    CompileContext,
    StringPattern,
    TextTest,
    compile_regex,
    fold,
    scalar_test,
    text_test,
)

Node = Callable[[Mapping[str, Any], dict], bool]
ALL_VALUES = "\0all"  # memo key of the lower-cased text of every value of the event
ALL_JOINED = "\0joined"  # memo key of those lower-cased texts joined by NUL characters

_COST = {"eq": 1, "prefix": 2, "suffix": 2, "contains": 3, "glob": 4, "wild": 15}


@dataclass(frozen=True)
class Compiled:
    """A compiled node with its estimated cost (cheaper operands of AND/OR run first).

    ``junction`` is "and"/"or" for a combination of ``operands``, so that nested ones of the
    same kind flatten into one loop.
    """

    node: Node
    cost: float
    junction: str = ""
    operands: tuple[Node, ...] = ()


def compile_condition(tree: Sequence[Any], ctx: CompileContext) -> Compiled:
    """Compile a plan's detection tree (leaves are field/value specs)."""
    kind = tree[0]
    if kind == "not":
        operand = compile_condition(tree[1], ctx)
        inner = operand.node
        return Compiled(lambda event, memo: not inner(event, memo), operand.cost)
    if kind in ("and", "or"):
        operands = _merge_or_leaves(tree[1]) if kind == "or" else tree[1]
        parts = sorted((compile_condition(arg, ctx) for arg in operands), key=lambda c: c.cost)
        return combine(kind == "and", parts)
    if kind == "field":
        if type(tree[1]) is not str:
            raise TypeError("plan: a field name is not text")
        return compile_field(tree[1], tree[2], ctx)
    if kind == "kw":
        return compile_keywords(tree[1], ctx)
    raise ctx.error(f"condition element {kind!r} is not supported")


def combine(conjunction: bool, parts: Sequence[Compiled]) -> Compiled:
    """AND (``conjunction``) or OR of compiled nodes, in the given order."""
    junction = "and" if conjunction else "or"
    cost = sum(p.cost for p in parts)
    flat: list[Node] = []
    for part in parts:
        flat.extend(part.operands if part.junction == junction else (part.node,))
    nodes = tuple(flat)
    if len(nodes) == 1:
        return Compiled(nodes[0], cost)
    if len(nodes) == 2:
        first, second = nodes
        if conjunction:
            return Compiled(lambda e, m: first(e, m) and second(e, m), cost, junction, nodes)
        return Compiled(lambda e, m: first(e, m) or second(e, m), cost, junction, nodes)
    if conjunction:

        def all_of(event: Mapping[str, Any], memo: dict) -> bool:
            for node in nodes:
                if not node(event, memo):
                    return False
            return True

        return Compiled(all_of, cost, junction, nodes)

    def any_of(event: Mapping[str, Any], memo: dict) -> bool:
        for node in nodes:
            if node(event, memo):
                return True
        return False

    return Compiled(any_of, cost, junction, nodes)


def _merge_or_leaves(args: Sequence[Any]) -> list[Any]:
    """OR-linked values of one field (or keywords) become one leaf: one lookup, one test."""
    merged: list[Any] = []
    by_field: dict[str, list[Any]] = {}
    keywords: list[Any] | None = None
    for arg in args:
        if arg[0] == "field":
            group = by_field.get(arg[1])
            if group is None:
                group = by_field[arg[1]] = ["field", arg[1], []]
                merged.append(group)
            group[2].extend(arg[2])
        elif arg[0] == "kw":
            if keywords is None:
                keywords = ["kw", []]
                merged.append(keywords)
            keywords[1].extend(arg[1])
        else:
            merged.append(arg)
    return merged


# --- field leaves --------------------------------------------------------------------------


def compile_field(name: str, values: Sequence[Any], ctx: CompileContext) -> Compiled:
    """A leaf testing field ``name`` against OR-linked value specs."""
    flat = list(values)
    get = compile_getter(name)
    alternatives: list[Compiled] = []
    for wanted in (v for v in flat if v[0] == "exists"):
        if type(wanted[1]) is not bool:
            raise TypeError("plan: exists wants a boolean")
        alternatives.append(_exists_leaf(get, wanted[1]))
    for ref in (v for v in flat if v[0] == "ref"):
        alternatives.append(_fieldref_leaf(get, ref))
    plain = [v for v in flat if v[0] not in ("exists", "ref")]
    if plain:
        alternatives.append(_value_leaf(name, get, plain, ctx))
    if not alternatives:
        raise ctx.error(f"field {name!r} has no value to match")
    return combine(False, sorted(alternatives, key=lambda c: c.cost))


def _exists_leaf(get: Callable[[Mapping[str, Any]], Any], wanted: bool) -> Compiled:
    def exists(event: Mapping[str, Any], memo: dict) -> bool:
        value = get(event)
        return (value is not MISSING and value is not None) is wanted

    return Compiled(exists, 1)


def _fieldref_leaf(get: Callable[[Mapping[str, Any]], Any], ref: Sequence[Any]) -> Compiled:
    _, other_name, starts_with, ends_with = ref
    if type(other_name) is not str:
        raise TypeError("plan: a field reference is not text")
    get_other = compile_getter(other_name)
    if starts_with and ends_with:
        relation: Callable[[str, str], bool] = lambda mine, other: other in mine
    elif starts_with:
        relation = lambda mine, other: mine.startswith(other)
    elif ends_with:
        relation = lambda mine, other: mine.endswith(other)
    else:
        relation = lambda mine, other: mine == other

    def texts(value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        return [fold(t) for t in map(as_text, items) if t is not None]

    def fieldref(event: Mapping[str, Any], memo: dict) -> bool:
        mine, other = get(event), get_other(event)
        if mine is MISSING or other is MISSING or mine is None or other is None:
            return False
        return any(relation(m, o) for m in texts(mine) for o in texts(other))

    return Compiled(fieldref, 4)


def _value_leaf(
    name: str,
    get: Callable[[Mapping[str, Any]], Any],
    values: list[Any],
    ctx: CompileContext,
) -> Compiled:
    null_ok = any(v[0] == "null" for v in values)
    strings = [string_pattern(v) for v in values if v[0] == "str"]
    folded = [p for p in strings if not p.cased]
    cased = [p for p in strings if p.cased]
    regexes = [
        compile_regex(regex_text(v), ctx) for v in values if v[0] == "re"
    ]
    scalars = [
        scalar_test(v, ctx)
        for v in values
        if v[0] not in ("null", "str", "re")
    ]
    cost = sum(_COST[p.kind] for p in strings) + 15 * len(regexes) + 3 * len(scalars) or 1
    folded_test = text_test(folded, ctx) if folded else None
    raw_tests: list[TextTest] = ([text_test(cased, ctx)] if cased else []) + regexes

    def one(value: Any) -> bool:
        """A single, non-null event value (no memo: list elements, numbers)."""
        text = as_text(value)
        if text is not None:
            if folded_test is not None and folded_test(fold(text)):
                return True
            for test in raw_tests:
                if test(text):
                    return True
        for test in scalars:
            if test(value):
                return True
        return False

    def other(value: Any) -> bool:
        if value is MISSING or value is None:
            return null_ok
        if isinstance(value, list):
            return any(one(item) for item in value if item is not None)
        return one(value)

    fast = (
        _fast_string_leaf(name, get, folded, other) if not (cased or regexes or scalars) else None
    )
    if fast is not None:
        return Compiled(fast, cost)

    def leaf(event: Mapping[str, Any], memo: dict) -> bool:
        value = get(event)
        if type(value) is not str:
            return other(value)
        if folded_test is not None:
            lowered = memo.get(name)
            if lowered is None:
                lowered = memo[name] = fold(value)
            if folded_test(lowered):
                return True
        for test in raw_tests:
            if test(value):
                return True
        for test in scalars:
            if test(value):
                return True
        return False

    return Compiled(leaf, cost)


def _fast_string_leaf(
    name: str,
    get: Callable[[Mapping[str, Any]], Any],
    patterns: list[StringPattern],
    other: Callable[[Any], bool],
) -> Node | None:
    """Specialised leaves for the commonest shapes: one literal, compared without a memo."""
    if len(patterns) != 1:
        return None
    (pattern,) = patterns
    literal, size = pattern.literal, len(pattern.literal)
    if pattern.kind == "eq" and literal.isascii():
        # An ASCII literal can only equal a lower-cased text of the same length.

        def equals(event: Mapping[str, Any], memo: dict) -> bool:
            value = get(event)
            if type(value) is str:
                if value.isascii():  # ASCII folds as lower() does, keeping its length
                    return len(value) == size and (value == literal or value.lower() == literal)
                return fold(value) == literal
            return other(value)

        return equals
    if pattern.kind == "prefix":

        def prefix(event: Mapping[str, Any], memo: dict) -> bool:
            value = get(event)
            if type(value) is str:
                if value.isascii():
                    return value[:size].lower().startswith(literal)
                return fold(value).startswith(literal)
            return other(value)

        return prefix
    if pattern.kind == "suffix" and size:

        def suffix(event: Mapping[str, Any], memo: dict) -> bool:
            value = get(event)
            if type(value) is str:
                if value.isascii():
                    return value[-size:].lower().endswith(literal)
                return fold(value).endswith(literal)
            return other(value)

        return suffix
    if pattern.kind == "contains":

        def contains(event: Mapping[str, Any], memo: dict) -> bool:
            value = get(event)
            if type(value) is str:
                lowered = memo.get(name)
                if lowered is None:
                    lowered = memo[name] = fold(value)
                return literal in lowered
            return other(value)

        return contains
    return None


# --- keyword leaves ------------------------------------------------------------------------


def string_pattern(spec: Sequence[Any]) -> StringPattern:
    """The StringPattern of a ``["str", kind, cased, literal, segments, regex, need]`` spec."""
    _, kind, cased, literal, segments, regex, _need = spec
    if kind not in _COST or type(cased) is not bool:
        raise ValueError(f"plan: string spec {kind!r}")
    if type(literal) is not str or type(regex) is not str or type(segments) is not list:
        raise TypeError("plan: a string spec's parts are not text")
    if any(type(s) is not str for s in segments) or (kind == "glob" and len(segments) < 2):
        raise TypeError("plan: a glob's segments are not text")
    return StringPattern(kind, cased, literal=literal, segments=tuple(segments), regex=regex)


def regex_text(spec: Sequence[Any]) -> str:
    """The pattern of a ``["re", source, need]`` spec."""
    if type(spec[1]) is not str:
        raise TypeError("plan: a regular expression is not text")
    return str(spec[1])


def keyword_pattern(spec: Sequence[Any], ctx: CompileContext) -> StringPattern | TextTest:
    """A keyword spec (already wrapped in ``*``: it matches anywhere in the searched text)."""
    if spec[0] == "str":
        return string_pattern(spec)
    if spec[0] == "re":
        return compile_regex(regex_text(spec), ctx)
    raise ctx.error(f"keyword value spec {spec[0]!r} is not supported")


def _necessary_search(patterns: Sequence[StringPattern]) -> Callable[[str], bool] | None:
    """A test true of every folded text one of ``patterns`` matches (it holds the pattern's
    literal, or its glob's longest segment), cheaper than the patterns; None when a pattern
    has no such literal (a regex, a lone wildcard)."""
    needs = []
    for pattern in patterns:
        if pattern.kind == "glob":
            need = max(pattern.segments, key=len, default="")
        elif pattern.kind in ("eq", "prefix", "suffix", "contains"):
            need = pattern.literal
        else:
            return None
        if not need or "\0" in need:
            return None
        needs.append(need)
    unique = sorted(set(needs), key=len, reverse=True)
    if len(unique) >= 12:
        search = re.compile("|".join(map(re.escape, unique))).search
        return lambda text: search(text) is not None
    return lambda text: any(need in text for need in unique)


def compile_keywords(values: Sequence[Any], ctx: CompileContext) -> Compiled:
    """A leaf searching OR-linked keywords in the rule's keyword fields (or every value)."""
    flat = list(values)
    patterns = [keyword_pattern(v, ctx) for v in flat]
    folded = [p for p in patterns if isinstance(p, StringPattern) and not p.cased]
    raw: list[TextTest] = [p for p in patterns if not isinstance(p, StringPattern)]
    cased = [p for p in patterns if isinstance(p, StringPattern) and p.cased]
    if cased:
        raw.append(text_test(cased, ctx))
    folded_test = text_test(folded, ctx) if folded else None

    def test(text: str, lowered: str) -> bool:
        if folded_test is not None and folded_test(lowered):
            return True
        return any(t(text) for t in raw)

    fields = ctx.keyword_fields
    if (
        fields is None
        and not raw
        and folded
        and all(p.kind == "contains" and "\0" not in p.literal for p in folded)
    ):
        # Plain keywords: one search of every value's text joined by NULs. The keywords hold
        # no NUL, so a match lies within one value's text: the verdict of one search per value.
        assert folded_test is not None

        def anywhere_joined(event: Mapping[str, Any], memo: dict) -> bool:
            joined = memo.get(ALL_JOINED)
            if joined is None:
                texts = memo.get(ALL_VALUES)
                if texts is None:
                    texts = memo[ALL_VALUES] = [(t, fold(t)) for t in iter_strings(event)]
                # None when the event has no text at all: even an empty keyword fails then.
                joined = memo[ALL_JOINED] = "\0".join(low for _, low in texts) if texts else None
            return joined is not None and folded_test(joined)

        return Compiled(anywhere_joined, 20)
    if fields is None:
        necessary = _necessary_search(folded) if not raw else None

        def anywhere(event: Mapping[str, Any], memo: dict) -> bool:
            texts = memo.get(ALL_VALUES)
            if texts is None:
                texts = memo[ALL_VALUES] = [(t, fold(t)) for t in iter_strings(event)]
            if necessary is not None:
                # A value a pattern matches holds that pattern's longest literal: with none
                # of them in the values' texts joined, no value can match (one search, where
                # the loop below runs every glob on every value).
                joined = memo.get(ALL_JOINED)
                if joined is None:
                    joined = memo[ALL_JOINED] = "\0".join(low for _, low in texts) if texts else None
                if joined is None or not necessary(joined):
                    return False
            return any(test(text, lowered) for text, lowered in texts)

        return Compiled(anywhere, 30)
    getters = [(f, compile_getter(f)) for f in fields]

    def in_fields(event: Mapping[str, Any], memo: dict) -> bool:
        for name, get in getters:
            value = get(event)
            if type(value) is str:
                lowered = memo.get(name)
                if lowered is None:
                    lowered = memo[name] = fold(value)
                if test(value, lowered):
                    return True
            elif value is not MISSING and value is not None:
                for text in iter_strings(value):
                    if test(text, fold(text)):
                        return True
        return False

    return Compiled(in_fields, 5 * len(getters))
