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
    walk = _RequirementWalk(
        plan["detections"], frozenset(plan["added"]), matcher.keyword_fields, key
    )
    return _any_of(walk.top(condition) for condition in plan["conditions"])


@dataclass(frozen=True)
class _Walk:
    """A walk over one rule's plan (evaluate/plan.py) combining what its leaves need: the
    traversal, shared by :func:`rule_requirement` (:class:`_RequirementWalk`) and
    :func:`rule_clauses` (:class:`_ClauseWalk`), which say how needs combine."""

    detections: dict[str, Any]
    added: frozenset[str]
    keyword_fields: tuple[str, ...] | None
    key: Strength
    nothing: Any = None  # what a NOT, an added or an empty detection needs

    def all_of(self, needs: list[Any]) -> Any:
        raise NotImplementedError

    def any_of(self, needs: list[Any]) -> Any:
        raise NotImplementedError

    def leaf(self, tree: Any) -> Any:
        raise NotImplementedError

    def top(self, tree: Any) -> Any:
        kind = tree[0]
        if kind == "det":
            return self.detection(tree[1])
        if kind == "sel":
            needs = [self.detection(n) for n in tree[2]]
            return self.all_of(needs) if tree[1] else self.any_of(needs)
        if kind == "and":
            return self.all_of([self.top(arg) for arg in tree[1]])
        if kind == "or":
            return self.any_of([self.top(arg) for arg in tree[1]])
        return self.nothing  # NOT: nothing is necessary

    def detection(self, name: str) -> Any:
        if name in self.added:
            return self.nothing
        tree = self.detections[name]
        return self.node(tree) if tree is not None else self.nothing

    def node(self, tree: Any) -> Any:
        kind = tree[0]
        if kind == "and":
            return self.all_of([self.node(arg) for arg in tree[1]])
        if kind == "or":
            return self.any_of([self.node(arg) for arg in tree[1]])
        return self.leaf(tree)


class _RequirementWalk(_Walk):
    """The strongest necessary literal set (rule_requirement)."""

    def all_of(self, needs: list[Requirement]) -> Requirement:
        return _all_of(needs, self.key)

    def any_of(self, needs: list[Requirement]) -> Requirement:
        return _any_of(needs)

    def leaf(self, tree: Any) -> Requirement:
        if tree[0] == "field":
            return _values(tree[2], (tree[1],))
        if tree[0] == "kw":
            return _values(tree[1], self.keyword_fields or (ANYWHERE,))
        return None  # NOT and anything else: no literal is necessary


def _values(specs: list[Any], fields: tuple[str, ...], *, regexes: bool = False) -> Requirement:
    """One expression's values (a ``str`` spec's ``need`` is its longest plain run). With
    ``regexes`` (for :func:`rule_clauses`) a regex gives the literals every match of it holds
    and a whole value (no wildcard) on a field is marked :data:`EXACT`."""
    pairs: set[tuple[str, str]] = set()
    for spec in specs:
        if regexes and spec[0] == "re":
            found = regex_literals(_pattern(spec[1]))
            if not found:
                return None
            pairs.update((f, literal) for f in fields for literal in found)
            continue
        literal = spec[-1] if spec[0] == "str" else ""
        if not literal:
            return None
        if regexes and spec[1] == "eq" and fields != (ANYWHERE,):
            literal = EXACT + literal  # the whole value
        pairs.update((f, literal) for f in fields)
    return frozenset(pairs) or None


# The flags evaluate/plan.py writes inline before a regex: they change no literal it holds
# (the literals are case-folded, and searched without case).
_INLINE_FLAGS = re.compile(r"\(\?[ims]+\)")


def _pattern(source: str) -> str:
    """A plan's regex source without the flags the plan put before it."""
    found = _INLINE_FLAGS.match(source)
    return source[found.end() :] if found else source


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


# --- clauses: every necessary literal set of a rule, not only the strongest ----------------

Clauses = list[frozenset[tuple[str, str]]]
# A clause literal starting with NUMBER stands for an integer the field equals as a number
# (``euid: 33`` matches "33", "033", "+33", "33.0"): not a substring to search as such.
NUMBER = "\x00number:"
# One starting with EXACT stands for the whole value (a plain string without wildcards): a
# consumer that cannot tell may read the rest as a literal to search for.
EXACT = "\x00exact:"
MAX_CLAUSES = 8  # an OR of ANDs is distributed up to this many clauses, else cut to one


def rule_clauses(matcher: RuleMatcher, usable: Usable = None) -> Clauses:
    """Requirements all of which every event matching the rule meets, strongest first.

    Each clause is a requirement as :func:`rule_requirement` gives one (an event matching the
    rule has, in one of the clause's fields, a value holding that literal); ``[]`` when the
    rule needs no literal. ``Image|endswith: /ls`` AND ``CommandLine|contains: -R`` gives two
    clauses where rule_requirement keeps one. Regular expressions give the literals every
    match of them holds (:func:`regex_literals`). Clauses are sorted strongest first (by the
    order rule_requirement uses, after ``usable``'s rank): the first is the best to search for.
    """
    key = _strength if usable is None else _ranked(_strength, usable)
    plan = matcher.plan
    walk = _ClauseWalk(
        plan["detections"], frozenset(plan["added"]), matcher.keyword_fields, key, nothing=[]
    )
    clauses = _or_clauses([walk.top(condition) for condition in plan["conditions"]], key)
    return sorted(set(clauses), key=lambda c: (key(c), sorted(c)), reverse=True)


class _ClauseWalk(_Walk):
    """Every necessary literal set (rule_clauses)."""

    def all_of(self, needs: list[Clauses]) -> Clauses:
        return _and_clauses(needs)

    def any_of(self, needs: list[Clauses]) -> Clauses:
        return _or_clauses(needs, self.key)

    def leaf(self, tree: Any) -> Clauses:
        need: Requirement = None
        if tree[0] == "field":
            name, specs = tree[1], tree[2]
            if len(specs) == 1 and specs[0][0] == "num":
                number, part = specs[0][1], specs[0][2]
                if type(number) is int and part is None:  # equal as numbers: see NUMBER
                    return [frozenset({(name, f"{NUMBER}{number}")})]
                return []
            if len(specs) == 1 and specs[0][0] == "re":
                found = regex_clauses(_pattern(specs[0][1]))
                return [frozenset((name, literal) for literal in lits) for lits in found]
            need = _values(specs, (name,), regexes=True)
        elif tree[0] == "kw":
            need = _values(tree[1], self.keyword_fields or (ANYWHERE,), regexes=True)
        return [need] if need else []  # NOT and anything else: nothing is necessary


def _and_clauses(parts: Iterable[Clauses]) -> Clauses:
    return [clause for part in parts for clause in part]


def _or_clauses(parts: list[Clauses], key: Strength) -> Clauses:
    """Clauses of an OR: one per way of taking a clause from each part (their union)."""
    if not parts or any(not part for part in parts):
        return []
    count = 1
    for part in parts:
        count *= len(part)
    if count > MAX_CLAUSES:
        parts = [[max(part, key=key)] for part in parts]  # each part's strongest only
    combined: Clauses = [frozenset()]
    for part in parts:
        combined = [done | clause for done in combined for clause in part]
    return combined


# A regex's literal text: characters standing for themselves, and escaped punctuation.
_REGEX_SPECIAL = frozenset("\\^$.|?*+()[]{}")
_MAX_EXACT = 16  # alternatives of a group spelt out before it counts as "any text"


def regex_literals(pattern: str) -> frozenset[str] | None:
    """Case-folded literals of which every match of ``pattern`` holds one; None if unknown.

    Reads a conservative subset of the syntax RE2 and Python share: literal characters,
    escaped punctuation, groups of alternatives, quantifiers, classes and ``\\s``-like escapes
    (these two stand for unknown text). Anything else (look-around, back-references,
    POSIX classes, ``\\x``, ``\\p``) gives None: the rule then needs no literal.

    >>> sorted(regex_literals(r"-(W|R)\\s?(\\s|\\"|')([0-9a-fA-F]{2}\\s?){2,20}"))
    ['-r', '-w']
    """
    needs = regex_clauses(pattern)
    return _best(needs) if needs else None


def regex_clauses(pattern: str) -> list[frozenset[str]]:
    """Case-folded literal sets every match of ``pattern`` holds one of each of (``[]``:
    none known), as :func:`regex_literals` reads it.

    >>> [sorted(lits) for lits in regex_clauses(r"\\s-[a-z]{0,20}i")]
    [['-'], ['i']]
    """
    try:
        parsed, end = _regex_alternation(pattern, 0)
    except ValueError:
        return []
    if end != len(pattern) or parsed is None:
        return []
    return [frozenset(fold(literal) for literal in lits) for lits in parsed[1]]


# A parsed piece: (the exact texts it matches, or None; literal sets every match holds one
# of each of)
_Piece = tuple[frozenset[str] | None, tuple[frozenset[str], ...]]


def _regex_alternation(pattern: str, pos: int) -> tuple[_Piece, int]:
    branches: list[_Piece] = []
    while True:
        branch, pos = _regex_sequence(pattern, pos)
        branches.append(branch)
        if pos < len(pattern) and pattern[pos] == "|":
            pos += 1
            continue
        break
    if len(branches) == 1:
        return branches[0], pos
    exact: set[str] | None = set()
    for branch_exact, _ in branches:
        if exact is not None and branch_exact is not None:
            exact |= branch_exact
        else:
            exact = None
    if exact is not None and len(exact) > _MAX_EXACT:
        exact = None
    needed = _or_needs([branch_needed for _, branch_needed in branches])
    return (frozenset(exact) if exact is not None else None, needed), pos


def _best(needs: tuple[frozenset[str], ...]) -> frozenset[str]:
    return max(needs, key=lambda lits: (min(map(len, lits)), -len(lits)))


def _or_needs(parts: list[tuple[frozenset[str], ...]]) -> tuple[frozenset[str], ...]:
    """What every match of one of several branches holds, each branch needing all its sets."""
    if any(not part for part in parts):
        return ()
    count = 1
    for part in parts:
        count *= len(part)
    if count > MAX_CLAUSES:
        parts = [(_best(part),) for part in parts]
    combined: list[frozenset[str]] = [frozenset()]
    for part in parts:
        combined = [done | lits for done in combined for lits in part]
    return tuple(combined)


def _regex_sequence(pattern: str, pos: int) -> tuple[_Piece, int]:
    """A concatenation up to ``|`` or ``)``: its exact texts while it is exact, and the best
    literal set among its exact runs."""
    run: set[str] | None = {""}
    found: list[frozenset[str]] = []
    whole_exact = True

    def close_run() -> None:
        if run and all(run):
            found.append(frozenset(run))

    while pos < len(pattern) and pattern[pos] not in "|)":
        atom, pos = _regex_atom(pattern, pos)
        quantifier, pos = _regex_quantifier(pattern, pos)
        atom_exact, atom_needed = atom
        if quantifier == "once" and atom_exact is not None and run is not None:
            run = {a + b for a in run for b in atom_exact}
            if len(run) > _MAX_EXACT:
                run = None
                whole_exact = False
            continue
        whole_exact = False
        if run is not None:
            close_run()
        if quantifier != "optional":
            if atom_exact is not None:
                found.append(atom_exact) if all(atom_exact) else None
            else:
                found.extend(atom_needed)
        run = {""}
        if quantifier == "many" and atom_exact is not None:
            run = set(atom_exact)  # the last repetition is followed by what comes next
    if run is not None:
        close_run()
    exact = frozenset(run) if whole_exact and run is not None else None
    return (exact, tuple(found)), pos


def _regex_atom(pattern: str, pos: int) -> tuple[_Piece, int]:
    char = pattern[pos]
    if char == "(":
        if pattern.startswith("(?:", pos):
            inner, end = _regex_alternation(pattern, pos + 3)
        elif pattern.startswith("(?", pos):
            raise ValueError("group form not read")
        else:
            inner, end = _regex_alternation(pattern, pos + 1)
        if end >= len(pattern) or pattern[end] != ")" or inner is None:
            raise ValueError("unbalanced group")
        return inner, end + 1
    if char == "[":
        end = pos + 1
        if end < len(pattern) and pattern[end] == "^":
            end += 1
        if end < len(pattern) and pattern[end] == "]":
            end += 1
        while end < len(pattern) and pattern[end] != "]":
            if pattern[end] == "[":
                raise ValueError("nested class")
            end += 2 if pattern[end] == "\\" else 1
        if end >= len(pattern):
            raise ValueError("unclosed class")
        return (None, ()), end + 1
    if char == "\\":
        if pos + 1 >= len(pattern):
            raise ValueError("trailing backslash")
        escaped = pattern[pos + 1]
        if escaped in "sSdDwWbB":
            return (None, ()), pos + 2
        if escaped.isascii() and not escaped.isalnum():
            return (frozenset({escaped}), ()), pos + 2
        raise ValueError("escape not read")
    if char in "^$.":
        return (None, ()), pos + 1
    if char in _REGEX_SPECIAL:
        raise ValueError("unexpected special character")
    return (frozenset({char}), ()), pos + 1


def _regex_quantifier(pattern: str, pos: int) -> tuple[str, int]:
    """``once``, ``optional`` (may be absent) or ``many`` (at least once, maybe more)."""
    if pos >= len(pattern):
        return "once", pos
    char = pattern[pos]
    kind, end = "once", pos
    if char in "?*":
        kind, end = "optional", pos + 1
    elif char == "+":
        kind, end = "many", pos + 1
    elif char == "{":
        close = pattern.find("}", pos)
        bounds = pattern[pos + 1 : close].split(",") if close > 0 else []
        if not bounds or not all(b.strip().isdigit() or b == "" for b in bounds) or not bounds[0]:
            raise ValueError("repetition not read")
        kind = "optional" if int(bounds[0]) == 0 else "many"
        end = close + 1
    else:
        return "once", pos
    if end < len(pattern) and pattern[end] in "?+":
        end += 1  # lazy or possessive: the same texts
    return kind, end
