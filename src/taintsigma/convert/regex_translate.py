"""Translate a Sigma ``re`` pattern (a search, Python/PCRE syntax) into a Lucene regexp.

Sigma's ``re`` is a *search*: unanchored unless ``^``/``$`` say otherwise, with Perl classes,
``i``/``m``/``s`` flags and ``.`` not matching a newline. Lucene's RegExp (Elasticsearch
query_string ``/…/``, EQL ``regex``, ES|QL ``RLIKE``) matches the *whole* value, has no anchors,
no Perl classes and reserves ``# @ & < > ~ "`` as operators. :func:`translate_regex` rewrites a
pattern into the Lucene regexp that accepts exactly the values the Sigma pattern finds, or
raises :class:`RegexNotTranslatable` with the reason. docs/semantics.md ("Regular expressions")
lists what is translated and what is refused.

The meaning is Python's ``re.search`` with PCRE's ASCII classes: ``\\d`` is ``[0-9]``, ``\\w``
is ``[a-zA-Z0-9_]``, ``\\s`` is ``[ \\t\\n\\r\\f\\v]``; ``$`` (without ``m``) also matches before
a final newline, ``i`` folds case as Python does (Unicode simple case folding).
"""

from __future__ import annotations

import bisect
import re
from functools import cache
from re import _constants as C
from re import _parser

from taintsigma.errors import TaintSigmaError

Intervals = list[tuple[int, int]]  # sorted, disjoint, non-adjacent closed code point ranges

MAX_CODE = 0x10FFFF
_SURROGATES: Intervals = [(0xD800, 0xDFFF)]
_NEWLINE = 0x0A
_EVERYTHING: Intervals = [(0, MAX_CODE)]
# Alternatives a pattern may expand into when anchors sit inside a leading/trailing group.
_MAX_ALTERNATIVES = 64

# PCRE's ASCII classes (Sigma's spec follows PCRE; Python's str patterns would use Unicode).
_CATEGORIES: dict[object, tuple[Intervals, bool]] = {
    C.CATEGORY_DIGIT: ([(0x30, 0x39)], False),
    C.CATEGORY_NOT_DIGIT: ([(0x30, 0x39)], True),
    C.CATEGORY_WORD: ([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)], False),
    C.CATEGORY_NOT_WORD: ([(0x30, 0x39), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A)], True),
    C.CATEGORY_SPACE: ([(0x09, 0x0D), (0x20, 0x20)], False),
    C.CATEGORY_NOT_SPACE: ([(0x09, 0x0D), (0x20, 0x20)], True),
}

# Constructs no translation can express, by name (also taintsigma.convert.regex_wildcards).
REFUSED_CONSTRUCTS: dict[object, str] = {
    C.ASSERT: "a lookahead or lookbehind",
    C.ASSERT_NOT: "a negative lookahead or lookbehind",
    C.GROUPREF: "a backreference",
    C.GROUPREF_EXISTS: "a conditional group",
    C.ATOMIC_GROUP: "an atomic group",
    C.POSSESSIVE_REPEAT: "a possessive quantifier",
}

_AT_NAMES: dict[object, str] = {
    C.AT_BOUNDARY: "a word boundary \\b",
    C.AT_NON_BOUNDARY: "a non-boundary \\B",
}


class RegexNotTranslatable(TaintSigmaError):
    """The pattern has no equivalent Lucene regexp; ``reason`` says which construct."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def translate_regex(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False, dotall: bool = False
) -> str:
    """Return the Lucene regexp matching exactly the values in which ``pattern`` is found.

    The flags are Sigma's ``re|i``, ``re|m`` and ``re|s``; inline flags such as ``(?i)`` work
    too. Raises RegexNotTranslatable for lookarounds, backreferences, atomic groups, possessive
    quantifiers, word boundaries, anchors inside the pattern and classes matching nothing.

    >>> translate_regex("^(sshd|sudo)$")
    '(sshd|sudo)\\n?'
    >>> translate_regex(r"cmd=\\d+", ignore_case=True)
    '.*[Cc][Mm][Dd]\\\\=[0-9]+.*'
    """
    alternatives, flags = search_alternatives(
        pattern, ignore_case=ignore_case, multiline=multiline, dotall=dotall
    )
    forms = [_anchored_parts(items, flags) for items in alternatives]
    prefixes = {prefix for prefix, _, _ in forms}
    suffixes = {suffix for _, _, suffix in forms}
    if len(forms) > 1 and len(prefixes) == 1 and len(suffixes) == 1:
        core = "(" + "|".join(core for _, core, _ in forms) + ")"
        return prefixes.pop() + core + suffixes.pop()
    return "|".join(prefix + core + suffix for prefix, core, suffix in forms)


def search_alternatives(
    pattern: str, *, ignore_case: bool = False, multiline: bool = False, dotall: bool = False
) -> tuple[list[list], int]:
    """Parse ``pattern`` (Python's own parser) into the alternatives a search tries, each with
    its anchors, if any, first or last, and the pattern's flags (inline ones included).

    The front end of every translation of a Sigma ``re`` (here and in
    taintsigma.convert.regex_wildcards); raises RegexNotTranslatable for an invalid pattern.
    """
    flags = (
        (re.IGNORECASE if ignore_case else 0)
        | (re.MULTILINE if multiline else 0)
        | (re.DOTALL if dotall else 0)
    )
    try:
        parsed = _parser.parse(pattern, flags)
    except re.error as err:
        raise RegexNotTranslatable(f"the pattern is not a valid regular expression: {err}") from err
    return _top_alternatives(list(parsed.data)), parsed.state.flags


# ---- the top level: anchors ---------------------------------------------------------------


def _unwrap(items: list) -> list:
    # A group around the whole pattern (without flag changes) does not change a search.
    while len(items) == 1 and items[0][0] is C.SUBPATTERN and not any(items[0][1][1:3]):
        items = list(items[0][1][3])
    return items


def _branches(item: tuple) -> list[list] | None:
    """The alternatives of a BRANCH, or of a flag-free group holding only one; else None."""
    inner = _unwrap([item])
    if len(inner) == 1 and inner[0][0] is C.BRANCH:
        return [list(b) for b in inner[0][1][1]]
    return None


def _top_alternatives(items: list) -> list[list]:
    """Split a pattern into alternatives whose anchors, if any, stand first or last.

    A search for ``A|B`` finds what either finds, so top-level branches are translated one by
    one; a leading or trailing alternation is distributed (Python's parser moves a common
    prefix such as ``^`` out of ``^a$|^b$``).
    """
    items = _unfactor(_unwrap(items))
    whole = _branches(items[0]) if len(items) == 1 else None
    if whole is not None:
        return [alt for branch in whole for alt in _top_alternatives(branch)]
    alternatives = [items]
    for index in (0, -1):
        expanded = []
        for alt in alternatives:
            branches = _branches(alt[index]) if alt and _holds_anchor(alt[index]) else None
            if branches is None:
                expanded.append(alt)
            elif index == 0:
                expanded.extend(b + alt[1:] for b in branches)
            else:
                expanded.extend(alt[:-1] + b for b in branches)
        if len(expanded) > _MAX_ALTERNATIVES:
            raise RegexNotTranslatable("anchors inside too many alternatives")
        alternatives = expanded
    return alternatives


def _holds_anchor(item: tuple) -> bool:
    op, av = item
    if op is C.AT:
        return True
    if op is C.BRANCH:
        return any(_holds_anchor(i) for b in av[1] for i in b)
    if op is C.SUBPATTERN:
        return any(_holds_anchor(i) for i in av[3])
    return False


_START = {C.AT_BEGINNING, C.AT_BEGINNING_STRING}
_END = {C.AT_END, C.AT_END_STRING}


def _can_be_empty_repeat(item: tuple) -> bool:
    return item[0] in (C.MAX_REPEAT, C.MIN_REPEAT) and item[1][0] == 0


def _anchored_parts(items: list, flags: int) -> tuple[str, str, str]:
    """Return (prefix, core, suffix) of one alternative: the search as a whole-value match."""
    items = list(items)
    newline = chr(_NEWLINE)
    prefix = suffix = None
    if items and items[0][0] is C.AT and items[0][1] in _START:
        at = items.pop(0)[1]
        # '^' with 'm' also matches after any newline
        prefix = f"(.*{newline})?" if at is C.AT_BEGINNING and flags & re.MULTILINE else ""
    if items and items[-1][0] is C.AT and items[-1][1] in _END:
        at = items.pop()[1]
        if at is C.AT_END_STRING:
            suffix = ""
        elif flags & re.MULTILINE:
            suffix = f"({newline}.*)?"  # before any newline
        else:
            suffix = f"{newline}?"  # Python and PCRE: also before a final newline
    if prefix is None:
        # An unanchored search skips what may match nothing at its start: '.*x' finds as 'x'.
        while items and _can_be_empty_repeat(items[0]):
            items.pop(0)
        prefix = ".*"
    if suffix is None:
        while items and _can_be_empty_repeat(items[-1]):
            items.pop()
        suffix = ".*"
    core = _sequence(items, flags)
    if prefix == ".*" and suffix == ".*" and not core:
        return "", ".*", ""
    return prefix, core, suffix


# ---- the body -------------------------------------------------------------------------------


def _sequence(items: list, flags: int, *, grouped: bool = False) -> str:
    """The Lucene form of ``items``; ``grouped``: the caller puts parentheses around it."""
    items = _unfactor(items)
    if len(items) == 1 and items[0][0] is C.BRANCH:
        alternation = _alternation(items[0][1][1], flags)
        return alternation if grouped else f"({alternation})"
    return "".join(_node(op, av, flags) for op, av in items)


def _unfactor(items: list) -> list:
    """Put back the literal prefix Python's parser factors out of ``sshd|sudo`` (``s(hd|udo)``).

    A bare alternation only ends a sequence after such factoring; the rewrite is equivalent
    and reads as the rule author wrote it.
    """
    if len(items) < 2 or items[-1][0] is not C.BRANCH:
        return items
    start = len(items) - 1
    while start > 0 and items[start - 1][0] is C.LITERAL:
        start -= 1
    if start > 0:
        return items
    prefix = list(items[:-1])
    branches = [prefix + list(b) for b in items[-1][1][1]]
    return [(C.BRANCH, (None, branches))]


def _alternation(branches: list, flags: int) -> str:
    return "|".join(_sequence(b, flags) or "()" for b in branches)


def _node(op: object, av: object, flags: int) -> str:
    if op is C.LITERAL:
        return _char_set(_literal_set([(av, av)], flags), negate=False)
    if op is C.NOT_LITERAL:
        return _char_set(_literal_set([(av, av)], flags), negate=True)
    if op is C.ANY:
        if flags & re.DOTALL:
            return "."
        return _render_set(_complement([(_NEWLINE, _NEWLINE)]))
    if op is C.IN:
        return _class(av, flags)
    if op is C.BRANCH:
        return "(" + _alternation(av[1], flags) + ")"
    if op is C.SUBPATTERN:
        _group, add, remove, inner = av
        return "(" + _sequence(inner, (flags | add) & ~remove, grouped=True) + ")"
    if op in (C.MAX_REPEAT, C.MIN_REPEAT):
        # Laziness changes which match is found, never whether one exists.
        low, high, inner = av
        body = _sequence(inner, flags)
        if not body:
            return ""
        if not _is_atom(inner):
            body = f"({body})"
        return body + _quantifier(low, high)
    if op is C.AT:
        if av in _AT_NAMES:
            raise RegexNotTranslatable(f"{_AT_NAMES[av]} has no Lucene equivalent")
        raise RegexNotTranslatable(
            "an anchor (^, $, \\A, \\Z) inside the pattern: Lucene regexps have no anchors, "
            "only a start or end of the whole pattern can be expressed"
        )
    if op in REFUSED_CONSTRUCTS:
        raise RegexNotTranslatable(f"{REFUSED_CONSTRUCTS[op]} has no Lucene equivalent")
    raise RegexNotTranslatable(f"the construct {op} has no Lucene equivalent")


def _is_atom(items: list) -> bool:
    return len(items) == 1 and items[0][0] in (
        C.LITERAL,
        C.NOT_LITERAL,
        C.ANY,
        C.IN,
        C.SUBPATTERN,
    )


def _quantifier(low: int, high: int) -> str:
    unbounded = high is C.MAXREPEAT or high == C.MAXREPEAT
    if unbounded:
        return {0: "*", 1: "+"}.get(low, f"{{{low},}}")
    if (low, high) == (0, 1):
        return "?"
    return f"{{{low}}}" if low == high else f"{{{low},{high}}}"


def _class(items: list, flags: int) -> str:
    chars, negate = class_chars(items, flags)
    return _char_set(chars, negate=negate)


def class_chars(items: list, flags: int) -> tuple[Intervals, bool]:
    """The characters a class (an ``IN`` node's items) names, case folded under ``i``, and
    whether the class is negated (then it matches every other character)."""
    negate = bool(items) and items[0][0] is C.NEGATE
    ranges: Intervals = []
    categories: list[Intervals] = []
    for op, av in items[1:] if negate else items:
        if op is C.LITERAL:
            ranges.append((av, av))
        elif op is C.RANGE:
            ranges.append(av)
        elif op is C.CATEGORY:
            chars, negated = _CATEGORIES[av]
            categories.append(_complement(chars) if negated else chars)
        else:
            raise RegexNotTranslatable(f"the class item {op} has no Lucene equivalent")
    matched = _literal_set(ranges, flags)
    for chars in categories:
        # Python tests a class item on the lower-cased character under 'i'.
        matched = _union(matched, _lower_preimage(chars, flags) if flags & re.IGNORECASE else chars)
    return matched, negate


def _char_set(chars: Intervals, *, negate: bool) -> str:
    chars = _complement(chars) if negate else chars
    return _render_set(chars)


# ---- case folding -----------------------------------------------------------------------------


def _literal_set(ranges: Intervals, flags: int) -> Intervals:
    """Characters matching any of ``ranges`` (literals), folded as Python does under ``i``.

    Python compares ``tolower(x)`` with the lowered pattern characters, plus a few extra
    equivalences (``re._casefix``, e.g. ``s`` and the long s). Memoised: a rule set's regexes
    fold the same few characters over and over, each fold a walk of the case tables.
    """
    return list(_literal_set_of(tuple(ranges), flags))


@cache
def _literal_set_of(ranges: tuple[tuple[int, int], ...], flags: int) -> tuple[tuple[int, int], ...]:
    chars = _normalize(list(ranges))
    if not flags & re.IGNORECASE:
        return tuple(chars)
    ascii_only = bool(flags & re.ASCII)
    moved, _preimage, extra = _case_tables(ascii_only)
    lowered = _subtract(chars, _moved_points(ascii_only))
    lowered = _union(lowered, _points({lo for x, lo in moved.items() if _contains(chars, x)}))
    additions = {e for key, extras in extra.items() if _contains(lowered, key) for e in extras}
    lowered = _union(lowered, _points(additions))
    return tuple(_lower_preimage(lowered, flags))


def _lower_preimage(chars: Intervals, flags: int) -> Intervals:
    """``{x : tolower(x) in chars}`` (memoised)."""
    return list(_lower_preimage_of(tuple(chars), flags))


@cache
def _lower_preimage_of(
    chars: tuple[tuple[int, int], ...], flags: int
) -> tuple[tuple[int, int], ...]:
    ascii_only = bool(flags & re.ASCII)
    _moved, preimage, _extra = _case_tables(ascii_only)
    kept = _subtract(list(chars), _moved_points(ascii_only))
    added = {x for lo, xs in preimage.items() if _contains(chars, lo) for x in xs}  # type: ignore[arg-type]
    return tuple(_union(kept, _points(added)))


@cache
def _moved_points(ascii_only: bool) -> Intervals:
    """The characters ``tolower`` changes, as intervals (callers do not modify the list)."""
    return _points(_case_tables(ascii_only)[0])


@cache
def _case_tables(
    ascii_only: bool,
) -> tuple[dict[int, int], dict[int, tuple[int, ...]], dict[int, tuple[int, ...]]]:
    """(x → tolower(x) where it differs, tolower value → its x's, extra equivalences)."""
    if ascii_only:
        moved = {x: x + 32 for x in range(0x41, 0x5B)}
        extra: dict[int, tuple[int, ...]] = {}
    else:
        import _sre
        from re import _casefix

        moved = {}
        for x in range(MAX_CODE + 1):
            lo = _sre.unicode_tolower(x)
            if lo != x:
                moved[x] = lo
        extra = dict(_casefix._EXTRA_CASES)
    preimage: dict[int, list[int]] = {}
    for x, lo in moved.items():
        preimage.setdefault(lo, []).append(x)
    return moved, {k: tuple(v) for k, v in preimage.items()}, extra


# ---- interval sets ------------------------------------------------------------------------


def _normalize(ranges: Intervals) -> Intervals:
    merged: Intervals = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _points(points: object) -> Intervals:
    return _normalize([(p, p) for p in points])  # type: ignore[attr-defined]


def _complement(chars: Intervals) -> Intervals:
    result: Intervals = []
    start = 0
    for lo, hi in chars:
        if lo > start:
            result.append((start, lo - 1))
        start = hi + 1
    if start <= MAX_CODE:
        result.append((start, MAX_CODE))
    return result


def _union(a: Intervals, b: Intervals) -> Intervals:
    return _normalize(a + b)


def _subtract(a: Intervals, b: Intervals) -> Intervals:
    return _complement(_union(_complement(a), b))


def _contains(chars: Intervals, x: int) -> bool:
    index = bisect.bisect_right(chars, (x, MAX_CODE + 1)) - 1
    return index >= 0 and chars[index][0] <= x <= chars[index][1]


# ---- Lucene syntax ------------------------------------------------------------------------


def _char(code: int) -> str:
    char = chr(code)
    # Escape every ASCII punctuation and space: Lucene reserves many of them (some only with
    # optional operators: # @ & < > ~), and "\x" is x for any other. Never escape a letter or
    # digit: Lucene 9 reads \d, \s, \w as classes.
    if code < 0x80 and not char.isalnum() and code >= 0x20 and code != 0x7F:
        return "\\" + char
    return char


def _render_set(chars: Intervals) -> str:
    """A Lucene class (or single character, or '.') for ``chars``.

    Values never hold lone surrogates (Elasticsearch stores UTF-8), so whether they are in the
    set does not matter: they are left out of whichever form is written.
    """
    positive = _subtract(chars, _SURROGATES)
    negative = _subtract(_complement(chars), _SURROGATES)
    if not negative:
        return "."
    if not positive:
        raise RegexNotTranslatable("a character class that matches no character")
    if len(positive) == 1 and positive[0][0] == positive[0][1]:
        return _char(positive[0][0])
    inside = _ranges(positive)
    outside = "^" + _ranges(negative)
    return "[" + (inside if len(inside) <= len(outside) else outside) + "]"


def _ranges(chars: Intervals) -> str:
    parts = []
    for lo, hi in chars:
        if lo == hi:
            parts.append(_char(lo))
        elif hi == lo + 1:
            parts.append(_char(lo) + _char(hi))
        else:
            parts.append(f"{_char(lo)}-{_char(hi)}")
    return "".join(parts)
