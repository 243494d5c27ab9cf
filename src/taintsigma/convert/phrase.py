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


def _strip_breaking(text: str, side: str) -> str:
    if side == "start":
        index = 0
        while index < len(text) and _is_breaking(text[index]):
            index += 1
        return text[index:]
    index = len(text)
    while index > 0 and _is_breaking(text[index - 1]):
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
    wildcard on a single token expresses the value better than a phrase (only when asked for);
    ``reason`` explains a superset or a refusal.

    >>> classify_text_value(SigmaString("*module verification failed*")).kind
    'phrase'
    >>> classify_text_value(SigmaString("*odule verif*x*")).kind
    'unsupported'
    """

    kind: TextMatchKind
    phrase: str = ""
    reason: str = ""
    token_wildcard: bool = False


def _unsupported(reason: str) -> TextMatch:
    return TextMatch(kind="unsupported", reason=reason)


def classify_text_value(value: SigmaString, *, token_wildcard: bool = False) -> TextMatch:
    """Decide how ``value`` (modifiers applied: ``contains`` is ``*x*``) matches a text field.

    Leading and trailing ``*`` mark open ends (``contains``, ``startswith``, ``endswith``); an
    open end must fall on a word boundary: the value's character there is a letter or digit
    (or whitespace, which is dropped, making the phrase broader). Anchored ends (equality, the
    anchored side of ``startswith``/``endswith``) cannot be enforced by a phrase, so the result
    is a superset. Wildcards inside the value, a value without any letter or digit, and an open
    end on punctuation are unsupported. With ``token_wildcard``, a value that is one run of
    ASCII letters, digits and ``_`` with an open end stays a wildcard on that single token.

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
        return _unsupported(
            "a wildcard inside the value cannot be expressed: an analysed text field is "
            "searched by whole words, and a phrase query has no wildcards"
        )
    core = "".join(str(p) for p in parts)
    if not any(c.isalnum() for c in core):
        return _unsupported(
            "the value holds no letter or digit, so it has no word an analysed text field "
            "could be searched for"
        )

    if token_wildcard and (open_start or open_end) and _SINGLE_TOKEN.fullmatch(core):
        if open_start and open_end:
            return TextMatch(kind="phrase", phrase=core, token_wildcard=True)
        where = "start" if open_end else "end"
        return TextMatch(
            kind="superset",
            phrase=core,
            token_wildcard=True,
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
