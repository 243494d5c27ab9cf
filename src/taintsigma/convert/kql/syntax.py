"""KQL literal syntax: quote, escape and render Sigma values as Kibana Query Language text.

Written from Kibana's kuery grammar (kbn-es-query ``src/kuery/grammar/grammar.peggy``);
docs/kql.md explains each rule with its source. Pure functions, no pySigma backend state.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from sigma.types import Placeholder, SigmaString, SpecialChars

# grammar.peggy, rule SpecialCharacter: escaped with a backslash in unquoted literals.
SPECIAL_CHARACTERS = '\\():<>"*{}'
# grammar.peggy, rule EscapedWhitespace (unquoted and quoted).
_WHITESPACE_ESCAPES = {"\t": "\\t", "\r": "\\r", "\n": "\\n"}
# Words the grammar reads as operators (rules Keyword, Or, And, Not).
KEYWORDS = ("and", "or", "not")
_KEYWORD_STARTS = frozenset(word[0] for word in KEYWORDS)
# Unquoted values equal to these become booleans, null, or (Kibana 7 grammar) a number.
_RESERVED_BARE = frozenset({"and", "or", "not", "true", "false", "null", "infinity", "nan"})
_BARE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

WILDCARD = None  # marks a `*` wildcard in a sequence of literal characters


class KqlSyntaxError(ValueError):
    """A value that KQL's grammar cannot carry faithfully; ``str()`` is the reason."""


def is_js_whitespace(char: str) -> bool:
    """True for the characters JavaScript's ``String.prototype.trim`` removes.

    The grammar trims every unquoted literal with ``trim()`` after unescaping it, so such a
    character at either end of an unquoted value is lost whatever its escape.
    """
    return char in "\t\n\v\f\r\ufeff\u2028\u2029" or unicodedata.category(char) == "Zs"


def unicode_escape(char: str) -> str:
    """``\\uXXXX`` escape of one character (a surrogate pair outside the BMP, as JavaScript)."""
    code = ord(char)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _escape_printable(char: str) -> str | None:
    if char in _WHITESPACE_ESCAPES:
        return _WHITESPACE_ESCAPES[char]
    if not char.isprintable():
        return unicode_escape(char)
    return None


def escape_quoted(text: str) -> str:
    """Escape ``text`` for the inside of a KQL quoted string (rule QuotedCharacter).

    ``\\`` and ``"`` get a backslash; tab, CR and LF their escapes; other unprintable
    characters ``\\uXXXX`` (raw would be legal, escapes keep queries on one readable line).

    >>> escape_quoted('say "hi" \\\\ now')
    'say \\\\"hi\\\\" \\\\\\\\ now'
    """
    out: list[str] = []
    for char in text:
        if char in '\\"':
            out.append("\\" + char)
        else:
            out.append(_escape_printable(char) or char)
    return "".join(out)


def quote(text: str) -> str:
    """Return ``text`` as a KQL quoted string: a phrase, wildcards not interpreted."""
    return '"' + escape_quoted(text) + '"'


def _is_space(item: str | None) -> bool:
    # rule Space is [ \t\r\n\u00A0]; all but the plain space are written as escapes here, and
    # an escape is not a Space to the grammar.
    return item == " "


def _keyword_at(items: Sequence[str | None], index: int) -> str | None:
    """The keyword spelled by ``items`` at ``index`` that the grammar would read as operator."""
    first = items[index]
    if first is None or first[:1].lower() not in _KEYWORD_STARTS:
        return None  # most characters start no keyword: skip the slicing below
    for word in KEYWORDS:
        end = index + len(word)
        chunk = items[index:end]
        if len(chunk) != len(word) or any(c is None for c in chunk):
            continue
        if "".join(chunk).lower() != word:  # type: ignore[arg-type]
            continue
        after_ok = end == len(items) or _is_space(items[end])
        if word == "not":
            # rule Keyword: 'not'i Space, anywhere; the end of a value is followed by the
            # query's own separator, so a trailing "not" is escaped too.
            if after_ok:
                return word
        elif (index == 0 or _is_space(items[index - 1])) and after_ok:
            return word
    return None


def _escape_keyword_start(char: str) -> str:
    # rule EscapedKeyword is '\' + and/or/not, but rule EscapedWhitespace comes first and reads
    # "\n" of "\not" as a newline; a lowercase "n" is therefore written as a unicode escape.
    if char == "n":
        return unicode_escape(char)
    return "\\" + char


def escape_unquoted(items: Sequence[str | None]) -> str:
    """Render characters (``WILDCARD`` for ``*``) as an unquoted KQL literal.

    Special characters get a backslash, tab/CR/LF and unprintable characters escapes, and the
    words and/or/not where the grammar would read them as operators are escaped. Raises
    KqlSyntaxError when the value starts or ends with whitespace (the grammar trims it away).

    >>> escape_unquoted([WILDCARD, *"a:b (c) or d", WILDCARD])
    '*a\\\\:b \\\\(c\\\\) \\\\or d*'
    """
    chars = [c for c in items if c is not None]
    if chars and items[0] is not None and is_js_whitespace(items[0]):
        raise KqlSyntaxError("an unquoted KQL value cannot start with whitespace (it is trimmed)")
    if chars and items[-1] is not None and is_js_whitespace(items[-1]):
        raise KqlSyntaxError("an unquoted KQL value cannot end with whitespace (it is trimmed)")
    out: list[str] = []
    index = 0
    while index < len(items):
        char = items[index]
        if char is None:
            out.append("*")
            index += 1
            continue
        starts = char[:1].lower() in _KEYWORD_STARTS  # most characters start no keyword
        keyword = _keyword_at(items, index) if starts else None
        if keyword is not None:
            out.append(_escape_keyword_start(char))
            out.extend(items[index + 1 : index + len(keyword)])  # type: ignore[arg-type]
            index += len(keyword)
            continue
        if char in SPECIAL_CHARACTERS:
            out.append("\\" + char)
        else:
            out.append(_escape_printable(char) or char)
        index += 1
    return "".join(out)


def is_bare(text: str) -> bool:
    """True if ``text`` is written without quotes (a plain word, as Elastic's rules do).

    A word ending in "not" is quoted: followed by the query's space, the grammar would read
    that "not" as an operator.

    >>> is_bare("kernel"), is_bare("system.syslog"), is_bare("true"), is_bare("cannot")
    (True, False, False, False)
    """
    lowered = text.lower()
    return (
        bool(_BARE.fullmatch(text))
        and lowered not in _RESERVED_BARE
        and not lowered.endswith("not")
    )


def render_text(text: str) -> str:
    """A literal string value: bare when it is a plain word, else quoted (exact, no wildcards)."""
    return text if is_bare(text) else quote(text)


def render_field(name: str) -> str:
    """A field name: unquoted with escapes; quoted when empty or holding whitespace.

    >>> render_field("process.name"), render_field("my field"), render_field("a*b")
    ('process.name', '"my field"', 'a\\\\*b')
    """
    if not name or any(c.isspace() or is_js_whitespace(c) for c in name):
        return quote(name)
    if name.lower() in ("null", "true", "false"):
        return quote(name)  # unquoted, these are literals: a null field means "any field"
    return escape_unquoted(list(name))


def value_items(value: SigmaString) -> list[str | None]:
    """The characters of a Sigma string, ``WILDCARD`` for ``*``; KqlSyntaxError for what KQL
    cannot carry (``?``, an unresolved placeholder).

    >>> value_items(SigmaString("a*"))
    ['a', None]
    """
    items: list[str | None] = []
    for part in value.s:
        if part is SpecialChars.WILDCARD_MULTI:
            items.append(WILDCARD)
        elif part is SpecialChars.WILDCARD_SINGLE:
            raise KqlSyntaxError("KQL has no single-character wildcard for the '?' of the value")
        elif isinstance(part, Placeholder):
            raise KqlSyntaxError(f"the placeholder %{part.name}% was not resolved by a pipeline")
        else:
            items.extend(str(part))
    return items


def render_items(items: Sequence[str | None]) -> str:
    """Characters (``WILDCARD`` for ``*``) as a KQL value: without wildcards bare or quoted,
    with ``*`` an unquoted literal with escapes."""
    if WILDCARD not in items:
        return render_text("".join(c for c in items if c is not None))
    return escape_unquoted(items)


def render_value(value: SigmaString) -> str:
    """Render a Sigma string (wildcards and all) as a KQL value, or raise KqlSyntaxError.

    Without wildcards the value is bare or quoted; with ``*`` it is an unquoted literal with
    escapes. KQL has no single-character wildcard, so ``?`` is refused.

    >>> render_value(SigmaString("kernel")), render_value(SigmaString("system.syslog"))
    ('kernel', '"system.syslog"')
    >>> render_value(SigmaString("*ker nel*"))
    '*ker nel*'
    """
    return render_items(value_items(value))
