"""Classify a Sigma string value for an analysed text field: a phrase, a broader phrase, or none.

Elasticsearch's standard tokenizer splits analysed text (ECS ``message``) into words, so a value
is searched as the phrase of its words. :func:`classify_text_value` decides whether that phrase
is faithful, a superset of what the rule matches, or impossible; fieldtypes.TextFieldMixin turns
the answer into query text. Pure functions on pySigma values, no backend state.
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from sigma.types import Placeholder, SigmaString, SpecialChars

# A run of these characters is always a single token of Elasticsearch's standard tokenizer
# (Unicode UAX #29: letters, digits and the connector "_" never break between each other),
# so a substring made only of them lies inside one token and a token wildcard finds it.
_SINGLE_TOKEN = re.compile(r"[A-Za-z0-9_]+")

# Characters at which the standard tokenizer always ends a word (whitespace and the ASCII
# punctuation UAX #29 never joins into a word). ". : , ; ' _" are left out: between letters or
# digits they are part of the word ("system.syslog", "don't", "a:b", "1,5", "foo_bar").
_BREAKING = "".join(sorted(set(string.whitespace + string.punctuation) - set(".:,;'_")))

# Unicode categories the tokenizer always breaks at: separators, dashes, opening and closing
# brackets ("‘’" are Pi/Pf and may join, so quotes are not in the list).
_BREAKING_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Pd", "Ps", "Pe"})


def _is_breaking(char: str) -> bool:
    return char in _BREAKING or unicodedata.category(char) in _BREAKING_CATEGORIES


def _never_joins(char: str, inner: str) -> bool:
    """True if ``char`` at an end of a value always ends a word, ``inner`` being the next
    character inward: UAX #29 joins ``:`` only between letters, ``, ;`` only between digits,
    ``. '`` only between two letters or two digits, and ``_`` with any word character."""
    if _is_breaking(char):
        return True
    if char == ":":
        return not inner.isalpha()
    if char in ",;":
        return not inner.isalnum() or inner.isascii() and inner.isalpha()
    if char in ".'":
        return not inner.isalnum()
    if char == "_":
        return _is_breaking(inner)
    return False


def _strip_breaking(text: str, side: str) -> str:
    """``text`` without the characters at its ``side`` that always end a word there."""
    if side == "start":
        index = 0
        while index + 1 < len(text) and _never_joins(text[index], text[index + 1]):
            index += 1
        return text[index:]
    index = len(text)
    while index > 1 and _never_joins(text[index - 1], text[index - 2]):
        index -= 1
    return text[:index]


_ANYWHERE = "the phrase matches these words anywhere in the field"


TextMatchKind = Literal["phrase", "superset", "unsupported"]


@dataclass(frozen=True, kw_only=True)
class TextMatch:
    """How a Sigma string value translates on an analysed text field.

    ``kind`` is ``phrase`` (faithful: the value's words, as a phrase), ``superset`` (the phrase
    may match more than the rule: emit with a TranslationWarning) or ``unsupported`` (no phrase
    expresses it: refuse). ``phrase`` is the text to search for; ``token_wildcard`` says that a
    wildcard on a single token expresses the value better than a phrase (only when asked for),
    ``pattern`` being that wildcard for a piece; ``reason`` explains a superset or a refusal.
    ``pieces``, when not empty, replaces ``phrase``: a value with wildcards inside is searched
    as the AND of its pieces' matches (always a superset).

    >>> classify_text_value(SigmaString("*module verification failed*")).kind
    'phrase'
    >>> classify_text_value(SigmaString("*odule verif*café.*")).kind
    'unsupported'
    >>> [p.phrase for p in classify_text_value(SigmaString("*wget * | sh*")).pieces]
    ['wget', 'sh']
    """

    kind: TextMatchKind
    phrase: str = ""
    reason: str = ""
    token_wildcard: bool = False
    pattern: str = ""
    pieces: tuple[TextMatch, ...] = ()


def _unsupported(reason: str) -> TextMatch:
    return TextMatch(kind="unsupported", reason=reason)


def classify_text_value(value: SigmaString, *, token_wildcard: bool = False) -> TextMatch:
    """Decide how ``value`` (modifiers applied: ``contains`` is ``*x*``) matches a text field.

    Leading and trailing ``*`` mark open ends (``contains``, ``startswith``, ``endswith``); an
    open end must fall on a word boundary: the value's character there is a letter or digit
    (or whitespace, which is dropped, making the phrase broader). Anchored ends (equality, the
    anchored side of ``startswith``/``endswith``) cannot be enforced by a phrase, so the result
    is a superset. A value without any letter or digit and an open end on punctuation are
    unsupported. With ``token_wildcard``, a value that is one run of ASCII letters, digits and
    ``_`` with an open end stays a wildcard on that single token. Wildcards inside the value
    split it into pieces, each read by the same rules with open ends at those wildcards; the
    value is the AND of the pieces (a superset: their order and adjacency are not enforced).

    >>> classify_text_value(SigmaString("module verification*")).kind
    'superset'
    >>> classify_text_value(SigmaString("*kernel*"), token_wildcard=True).token_wildcard
    True
    """
    parts = list(value.s)
    placeholders = [p for p in parts if isinstance(p, Placeholder)]
    if placeholders:
        return _unsupported(f"the placeholder %{placeholders[0].name}% was not resolved")
    open_start = False
    open_end = False
    while parts and parts[0] is SpecialChars.WILDCARD_MULTI:
        parts.pop(0)
        open_start = True
    while parts and parts[-1] is SpecialChars.WILDCARD_MULTI:
        parts.pop()
        open_end = True
    if any(isinstance(p, SpecialChars) for p in parts):
        return _classify_pieces(parts, open_start, open_end, token_wildcard)
    core = "".join(str(p) for p in parts)
    match = _classify_core(core, open_start, open_end, token_wildcard=token_wildcard)
    if match.kind == "unsupported" and (
        (open_start and _cut_joining(core, "start")[2])
        or (open_end and _cut_joining(core, "end")[2])
    ):
        # An open end on punctuation that may join the next word: the word beside it is
        # searched as a word wildcard, like a word cut by a wildcard inside the value.
        return _classify_pieces(parts, open_start, open_end, token_wildcard)
    return match


# Punctuation UAX #29 may join into a word ("syslog.old", "exec:sh", "0,5", "don't"); '_'
# always belongs to the word beside it.
_JOINING = ".:,;'"


def _cut_joining(text: str, side: str) -> tuple[str, str, str]:
    """(``text`` without what ends it at ``side``, what was dropped, the character that may
    join the word there to the next one, or ``""``).

    The characters that always end a word at ``side`` are dropped first; if the edge is then a
    character of ``. : , ; '`` the analyser may join with the next word, it is dropped too and
    the word beside it may continue (``exec:`` lies in the token ``exec:sh``); an edge ``_``
    joins any word character, so its word may continue as well. Otherwise ``text`` is
    returned unchanged.

    >>> _cut_joining("socat exec:", "end")
    ('socat exec', ':', ':')
    >>> _cut_joining(".bash_history", "start")
    ('bash_history', '.', '.')
    >>> _cut_joining("rm -f .", "end")
    ('rm -f .', '', '')
    """
    stripped = _strip_breaking(text, side)
    if len(stripped) < 2:
        return text, "", ""
    edge, inner = (stripped[0], stripped[1]) if side == "start" else (stripped[-1], stripped[-2])
    if not (edge in _JOINING or edge == "_") or _never_joins(edge, inner):
        return text, "", ""
    kept = stripped if edge == "_" else (stripped[1:] if side == "start" else stripped[:-1])
    dropped = text[: len(text) - len(kept)] if side == "start" else text[len(kept) :]
    return kept, dropped, edge


_NO_WORD = (
    "the value holds no letter or digit, so it has no word an analysed text field "
    "could be searched for"
)
_INSIDE = (
    "a wildcard inside the value: its pieces are searched as separate words or phrases, so "
    "their order and what lies between them are not enforced"
)
_HEAD_WORD = re.compile(r"[A-Za-z0-9_]+")
_TAIL_WORD = re.compile(r"[A-Za-z0-9_]+$")


def _classify_pieces(
    parts: Sequence[object], open_start: bool, open_end: bool, token_wildcard: bool
) -> TextMatch:
    """The AND of the pieces between the wildcards inside a value (outer ``*`` removed).

    A wildcard inside the value may stand for letters of the word it touches (``Trojan*FOUND``
    matches ``Win.Trojan.Agent FOUND``), so a word touching it is searched as a wildcard on
    that single word (``*trojan*``), never as a whole word. So is a word beside punctuation
    at an open edge that the analyser may join to the next word (``exec:`` lies in the token
    ``exec:sh``: ``exec*``). The rest of a piece is read like a whole value whose ends are
    open. A value without a wildcard inside is one piece.
    """
    pieces: list[str] = [""]
    for part in parts:
        if isinstance(part, SpecialChars):  # '*' or '?': a new piece
            pieces.append("")
        else:
            pieces[-1] += str(part)
    matches: list[TextMatch] = []
    last = len(pieces) - 1
    reasons = [_INSIDE] if last else []
    for index, piece in enumerate(pieces):
        found = _classify_piece(
            piece,
            (open_start or index > 0, index > 0),
            (open_end or index < last, index < last),
            token_wildcard=token_wildcard,
        )
        if isinstance(found, str):
            where = f" (in the piece {piece!r} of a value with a wildcard)" if last else ""
            return _unsupported(f"{found}{where}")
        for note in found[1]:
            if note not in reasons:
                reasons.append(note)
        matches.extend(found[0])
    if not matches:
        return _unsupported(_NO_WORD)
    for where, is_open in (("start", open_start), ("end", open_end)):
        if not is_open:
            reasons.append(f"the pieces match anywhere in the field, not only at its {where}")
    for match in matches:
        if match.reason and match.reason not in reasons:
            reasons.append(match.reason)
    return TextMatch(kind="superset", pieces=tuple(matches), reason="; ".join(reasons))


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _classify_piece(
    piece: str, start: tuple[bool, bool], end: tuple[bool, bool], *, token_wildcard: bool
) -> tuple[list[TextMatch], list[str]] | str:
    """The matches of one piece (none: only punctuation, not enforced) and the reasons they
    are broader, or why none is faithful. ``start`` and ``end`` are (open, cut): a wildcard
    on that side, and whether it is a wildcard inside the value (which may continue the word
    at that edge). An open edge on punctuation that may join the next word counts as cut."""
    if not any(c.isalnum() for c in piece):
        return [], []
    (start_open, start_cut), (end_open, end_cut) = start, end
    notes: list[str] = []
    rest = piece
    for side, is_open in (("start", start_open), ("end", end_open)):
        if not is_open:
            continue
        kept, _dropped, joining = _cut_joining(rest, side)
        if not joining:
            continue
        rest = kept
        if side == "start":
            start_cut = True
        else:
            end_cut = True
        if side == "start":
            where = f"the leading {joining!r} may join the first word to a word before it"
        else:
            where = f"the trailing {joining!r} may join the last word to a word after it"
        notes.append(f"{where} (Unicode word breaks), so that word is searched as a word wildcard")
    if (start_cut or end_cut) and _HEAD_WORD.fullmatch(rest):  # one word, cut
        # Already a superset: the word may be anywhere in its token on an open side too.
        return [_word_wildcard(f"{'*' * start_open}{rest}{'*' * end_open}", rest)], notes
    head: list[TextMatch] = []
    tail: list[TextMatch] = []
    if start_cut and _is_word_char(rest[0]):
        word = _HEAD_WORD.match(rest)
        if word is None or not _never_joins(rest[word.end()], rest[word.end() - 1]):
            return (
                "a word cut by the wildcard (or a joining character) before it cannot be "
                "searched as one word"
            )
        head.append(_word_wildcard(f"*{word.group()}", word.group()))
        rest = rest[word.end() :]
    if end_cut and _is_word_char(rest[-1]):
        word = _TAIL_WORD.search(rest)
        if word is None or not _never_joins(rest[word.start() - 1], rest[word.start()]):
            return (
                "a word cut by the wildcard (or a joining character) after it cannot be "
                "searched as one word"
            )
        tail.append(_word_wildcard(f"{word.group()}*", word.group()))
        rest = rest[: word.start()]
    if not any(c.isalnum() for c in rest):
        if rest.strip() and (head or tail):
            notes.append(f"{rest.strip()!r} is not enforced (the analyser drops it)")
        return [*head, *tail], notes
    match = _classify_core(rest, start_open, end_open, token_wildcard=token_wildcard)
    if match.kind == "unsupported":
        return match.reason
    return [*head, match, *tail], notes


def _word_wildcard(pattern: str, word: str) -> TextMatch:
    # Lower-case, as the index holds the word (Elasticsearch and Lucene's query parsers
    # normalise a wildcard term on a text field with the analyser too).
    return TextMatch(kind="phrase", phrase=word, token_wildcard=True, pattern=pattern.lower())


def _classify_core(
    core: str, open_start: bool, open_end: bool, *, token_wildcard: bool
) -> TextMatch:
    """Classify a value without wildcards inside; ``open_*``: a wildcard on that side."""
    if not any(c.isalnum() for c in core):
        return _unsupported(_NO_WORD)

    if token_wildcard and (open_start or open_end) and _SINGLE_TOKEN.fullmatch(core):
        pattern = f"{'*' if open_start else ''}{core}{'*' if open_end else ''}"
        if open_start and open_end:
            return TextMatch(kind="phrase", phrase=core, token_wildcard=True, pattern=pattern)
        where = "start" if open_end else "end"
        return TextMatch(
            kind="superset",
            phrase=core,
            token_wildcard=True,
            pattern=pattern,
            reason=f"the word wildcard matches any word of the field, not only at its {where}",
        )

    reasons: list[str] = []
    for side, is_open in (("start", open_start), ("end", open_end)):
        if not is_open:
            continue
        stripped = _strip_breaking(core, side)
        dropped = core[: len(core) - len(stripped)] if side == "start" else core[len(stripped) :]
        core = stripped
        edge = core[0] if side == "start" else core[-1]
        if dropped:
            shown = repr(dropped.strip()) if dropped.strip() else "whitespace"
            position = "leading" if side == "start" else "trailing"
            reasons.append(f"the {position} {shown} is not enforced (the analyser drops it)")
        if not edge.isalnum():
            return _unsupported(
                f"the value {'starts' if side == 'start' else 'ends'} with {edge!r} next to a "
                f"wildcard: whether that character is part of a word depends on the "
                f"analyser, so no phrase matches it faithfully"
            )
    if not open_start and not open_end:
        reasons.insert(
            0,
            "a phrase cannot match the whole field value: it also matches longer values "
            "containing these words",
        )
    elif not open_start:
        reasons.insert(0, f"{_ANYWHERE}, not only at its start")
    elif not open_end:
        reasons.insert(0, f"{_ANYWHERE}, not only at its end")
    phrase = core.strip()
    if reasons:
        return TextMatch(kind="superset", phrase=phrase, reason="; ".join(reasons))
    return TextMatch(kind="phrase", phrase=phrase)


def as_contains(value: SigmaString) -> SigmaString:
    """Return ``value`` with leading and trailing ``*`` (keyword searches match anywhere)."""
    result = value
    if not result.startswith(SpecialChars.WILDCARD_MULTI):
        result = SpecialChars.WILDCARD_MULTI + result
    if not result.endswith(SpecialChars.WILDCARD_MULTI):
        result = result + SpecialChars.WILDCARD_MULTI
    return result


# Characters a wildcard pattern reads as syntax: a literal one cannot be written in it.
PATTERN_CHARS = frozenset("*?\\")


def has_literal(value: SigmaString, chars: frozenset[str]) -> bool:
    """True when a plain part of ``value`` holds one of ``chars`` (not a Sigma wildcard)."""
    return any(isinstance(p, str) and any(c in chars for c in p) for p in value.s)


def with_wildcards(value: SigmaString, literal: Callable[[str], str]) -> str:
    """``value`` with Sigma's wildcards written ``*`` and ``?``, each plain part as ``literal``."""
    out = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            out.append("*")
        elif part is SpecialChars.WILDCARD_SINGLE:
            out.append("?")
        else:
            out.append(literal(str(part)))
    return "".join(out)
