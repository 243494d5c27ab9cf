"""Literals a rule needs: the words an event must contain for the rule to possibly match.

For every rule, a set of (field, lower-cased literal) pairs such that any event the rule
matches has, in at least one of those fields, a value containing that literal. A rule with no
such set (a ``not``, a regex, a number, …) is "always a candidate". The matcher indexes these
to skip rules whose literals are absent; adapters use :class:`Prefilter` to skip raw lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from taintsigma.evaluate.values import fold

if TYPE_CHECKING:
    from taintsigma.evaluate.compiled import RuleMatcher

ANYWHERE = "*"  # the "field" of a keyword searching every value of the event

Requirement = frozenset[tuple[str, str]] | None


Usable = Callable[[str], int] | None


def rule_requirement(
    matcher: RuleMatcher, usable: Usable = None, *, indexed: bool = False
) -> Requirement:
    """The (field, literal) pairs of which every event matching the rule has at least one.

    Only the rule's own detections count: conditions a pipeline adds (``host.os.type``,
    ``event.dataset``, set by adapters rather than read from the raw line) never do. Where
    an AND offers several, the one with the longest shortest literal is taken; ``indexed``
    (for a rule set's literal index, which can look a keyword up in no single field) first
    prefers one that names fields only, so ``type: EXECVE and keywords`` is indexed on
    ``type`` rather than tried on every event. With ``usable`` (a rank of
    field names: 0 for those an adapter's raw lines do not show verbatim, higher for better
    ones) the strongest among those whose fields rank highest is taken, so that a raw-line
    prefilter can use it.
    """
    plan = matcher.plan
    strength = _indexed_strength if indexed else _strength
    key = strength if usable is None else _ranked(strength, usable)
    walk = _Walk(plan["detections"], frozenset(plan["added"]), matcher.keyword_fields, key)
    return _any_of(walk.top(condition) for condition in plan["conditions"])


@dataclass(frozen=True)
class _Walk:
    """A walk over one rule's plan (evaluate/plan.py) for its necessary literals."""

    detections: dict[str, Any]
    added: frozenset[str]
    keyword_fields: tuple[str, ...] | None
    key: Strength

    def top(self, tree: Any) -> Requirement:
        kind = tree[0]
        if kind == "det":
            return self.detection(tree[1])
        if kind == "sel":
            needs = [self.detection(n) for n in tree[2]]
            return _all_of(needs, self.key) if tree[1] else _any_of(needs)
        if kind == "and":
            return _all_of([self.top(arg) for arg in tree[1]], self.key)
        if kind == "or":
            return _any_of([self.top(arg) for arg in tree[1]])
        return None  # NOT: no literal is necessary

    def detection(self, name: str) -> Requirement:
        if name in self.added:
            return None
        tree = self.detections[name]
        return self.node(tree) if tree is not None else None

    def node(self, tree: Any) -> Requirement:
        kind = tree[0]
        if kind == "and":
            return _all_of([self.node(arg) for arg in tree[1]], self.key)
        if kind == "or":
            return _any_of([self.node(arg) for arg in tree[1]])
        if kind == "field":
            return _values(tree[2], (tree[1],))
        if kind == "kw":
            return _values(tree[1], self.keyword_fields or (ANYWHERE,))
        return None  # NOT and anything else: no literal is necessary


def _values(specs: list[Any], fields: tuple[str, ...]) -> Requirement:
    """One expression's values (a ``str`` spec's ``need`` is its longest plain run)."""
    pairs: set[tuple[str, str]] = set()
    for spec in specs:
        literal = spec[-1] if spec[0] == "str" else ""
        if not literal:
            return None
        pairs.update((f, literal) for f in fields)
    return frozenset(pairs) or None


def _any_of(needs: Iterable[Requirement]) -> Requirement:
    union: set[tuple[str, str]] = set()
    for need in needs:
        if need is None:
            return None
        union |= need
    return frozenset(union) or None


def _all_of(needs: Iterable[Requirement], key: Strength) -> Requirement:
    known = [need for need in needs if need]
    return max(known, key=key) if known else None


def _strength(need: frozenset[tuple[str, str]]) -> tuple[int, ...]:
    # The weakest literal decides how often the rule is a candidate; fewer pairs break ties.
    return (min(len(lit) for _, lit in need), -len(need))


def _indexed_strength(need: frozenset[tuple[str, str]]) -> tuple[int, ...]:
    return (all(name != ANYWHERE for name, _ in need), *_strength(need))


Strength = Callable[[frozenset[tuple[str, str]]], tuple[int, ...]]


def _ranked(strength: Strength, rank: Callable[[str], int]) -> Strength:
    """``strength`` after the rank of the weakest field (0: cannot be searched; True is 1)."""

    def key(need: frozenset[tuple[str, str]]) -> tuple[int, ...]:
        return (min(int(rank(f)) for f, _ in need), *strength(need))

    return key


# --- raw-line prefilter --------------------------------------------------------------------

# Printable ASCII but '"', '\' and ']' (RFC 5424 structured data unescapes those): the part
# of a literal that reads the same in the raw line and in the event.
_RAW_SAFE = re.compile(r"[\x20-\x21\x23-\x5b\x5e-\x7e]+")
# Characters a JSON encoder may escape (Go's escapes <, > and & by default, some escape /):
# in JSON inputs a literal is cut at them and its longest remaining piece is searched.
_JSON_UNSAFE = re.compile(r"[/<>&'\"\\]")


def raw_piece(literal: str, json_escaped: bool) -> str:
    """The longest part of a (lower-case) literal that reads the same in a raw line as in
    the event parsed from it; with ``json_escaped``, also where a JSON encoder escapes."""
    piece = max(_RAW_SAFE.findall(fold(literal)), key=len, default="")
    if not json_escaped:
        return piece
    return max(_JSON_UNSAFE.split(piece), key=len, default="")


@dataclass(frozen=True)
class Prefilter:
    """Skips raw lines that no rule can match, before they are parsed.

    ``by_rule`` maps each rule id to lower-cased literals of which every event the rule
    matches contains one in its raw text; ``always`` holds the rules with no such literal.
    Literals are cut (:func:`raw_piece`) to text that reads the same in the raw line as in
    the event: no ``"``, ``\\`` or ``]`` (escaped in JSON strings or RFC 5424 structured
    data) and, for JSON lines, none of the characters some JSON encoders escape.

    >>> prefilter.may_match(raw_line.lower())  # doctest: +SKIP
    """

    by_rule: dict[str, frozenset[str]]
    always: frozenset[str]

    @property
    def literals(self) -> frozenset[str]:
        """Every literal of every rule."""
        return frozenset(lit for lits in self.by_rule.values() for lit in lits)

    def __post_init__(self) -> None:
        ordered = sorted(self.literals, key=lambda s: (-len(s), s))
        pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        object.__setattr__(self, "_search", pattern.search if pattern else None)

    def may_match(self, raw_line_lower: str) -> bool:
        """False only when no rule can match an event parsed from this (lower-cased) line."""
        if self.always:
            return True
        search = self._search  # type: ignore[attr-defined]
        return search is not None and search(raw_line_lower) is not None

    def candidates(self, raw_line_lower: str) -> set[str]:
        """The ids of the rules that may match an event parsed from this line."""
        found = {
            rid for rid, lits in self.by_rule.items() if any(l in raw_line_lower for l in lits)
        }
        return found | set(self.always)


def build_prefilter(
    matchers: Iterable[RuleMatcher],
    fields: Collection[str] | None = None,
    *,
    json_escaped: bool = False,
) -> Prefilter | None:
    """A Prefilter over compiled rules, or None when no rule has a necessary literal.

    ``fields`` names the event fields whose values an adapter copies verbatim from the raw
    line (for syslog: ``process.name``, ``message``); literals required in other fields (a
    facility name decoded from a number, a field the adapter adds) are not used. None trusts
    every field. ``json_escaped``: the raw lines are JSON, whose encoders may escape ``/``,
    ``<``, ``>``, ``&`` or ``'`` (``\\u003c``): literals are cut there too.
    """
    by_rule: dict[str, frozenset[str]] = {}
    always: set[str] = set()
    for matcher in matchers:
        need = rule_requirement(matcher)
        literals: set[str] = set()
        for field_name, literal in need or ():
            usable = fields is None or (field_name != ANYWHERE and field_name in fields)
            safe = raw_piece(literal, json_escaped) if usable else ""
            if not safe:
                literals = set()
                break
            literals.add(safe)
        if literals:
            by_rule[matcher.rule_id] = frozenset(literals)
        else:
            always.add(matcher.rule_id)
    if not by_rule:
        return None
    return Prefilter(by_rule=by_rule, always=frozenset(always))
