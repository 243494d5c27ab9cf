"""An independent check of ES|QL text against ES|QL's published lexical rules.

Written from Elastic's documentation, not from taintsigma's code:

- ES|QL syntax reference, "Identifiers": an identifier needs backticks unless it starts with a
  letter, ``_`` or ``@`` and every other character is a letter, digit or ``_``; a field name is
  such identifiers joined by ``.``; inside backticks a backtick is doubled.
- ES|QL syntax reference, "String literals": a string is delimited by ``"``; a ``"`` inside is
  escaped ``\\"``; CR, LF and TAB are written ``\\r``, ``\\n``, ``\\t`` (and ``\\\\`` is a
  backslash); the triple-quote form ``\"\"\"...\"\"\"`` has no escapes. No other escape exists,
  and no raw line break may stand inside a literal.
- ES|QL operators reference, ``LIKE``: ``*`` and ``?`` are wildcards and backslash escapes them
  ("Matching the exact characters ``*`` and ``.`` will require escaping").
- Source command ``FROM``: a comma-separated list of index patterns, then ``METADATA`` fields.

:func:`check_esql` returns the problems found (empty: the text passes).
"""

from __future__ import annotations

import re

_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\"}
_IDENT = re.compile(r"[A-Za-z_@][A-Za-z0-9_]*")
_IDENT_CHAR = re.compile(r"[A-Za-z0-9_@`]")
_NUMBER = re.compile(r"\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?")
_OPERATORS = ("==", "!=", "<=", ">=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",", "|", "::")
_FROM = re.compile(
    r"(?i)from\s+(?P<indices>[A-Za-z0-9_.*\-:,]+)(?:\s+metadata\s+(?P<meta>[A-Za-z0-9_, ]+?))?\s*\|"
)
_KEYWORDS = frozenset(
    "where and or not like rlike in is null true false stats by eval keep sort limit".split()
)


class Token(tuple):
    """(kind, text, value): kind is 'ident', 'string', 'number', 'op' or 'keyword'."""

    @property
    def kind(self) -> str:
        return self[0]

    @property
    def value(self) -> str:
        return self[2]


def tokens(query: str) -> tuple[list[Token], list[str]]:
    """Split ES|QL text into tokens, with the lexical problems met on the way."""
    problems: list[str] = []
    out: list[Token] = []
    match = _FROM.match(query)
    pos = 0
    if match:
        for index in match.group("indices").split(","):
            if not index:
                problems.append("empty index pattern in FROM")
        pos = match.end()
        out.append(Token(("op", "|", "|")))
    elif query.lower().startswith("from"):
        problems.append("FROM is not followed by index patterns, METADATA and a pipe")
    while pos < len(query):
        c = query[pos]
        if c in " \t":
            pos += 1
            continue
        if c in "\r\n":
            pos += 1  # a line break between tokens is whitespace
            continue
        if query.startswith('"""', pos):
            end = query.find('"""', pos + 3)
            if end < 0:
                problems.append(f"unterminated triple-quoted string at {pos}")
                break
            body = query[pos + 3 : end]
            if "\n" in body or "\r" in body:
                problems.append(f"line break inside a triple-quoted string at {pos}")
            out.append(Token(("string", query[pos : end + 3], body)))
            pos = end + 3
            continue
        if c == '"':
            value, end, errors = _string(query, pos)
            problems.extend(errors)
            out.append(Token(("string", query[pos:end], value)))
            pos = end
            continue
        if c == "`":
            value, end, errors = _quoted_identifier(query, pos)
            problems.extend(errors)
            out.append(Token(("ident", query[pos:end], value)))
            pos = end
            continue
        ident = _IDENT.match(query, pos)
        if ident:
            end = ident.end()
            # a qualified field name: identifiers joined by dots
            while end < len(query) and query[end] == ".":
                nxt = _IDENT.match(query, end + 1) or re.compile(r"`").match(query, end + 1)
                if nxt is None:
                    problems.append(f"a dot not followed by an identifier at {end}")
                    break
                if query[end + 1] == "`":
                    _, end, errors = _quoted_identifier(query, end + 1)
                    problems.extend(errors)
                else:
                    end = nxt.end()
            text = query[pos:end]
            kind = "keyword" if text.lower() in _KEYWORDS else "ident"
            out.append(Token((kind, text, text)))
            pos = end
            continue
        number = _NUMBER.match(query, pos)
        if number:
            out.append(Token(("number", number.group(), number.group())))
            pos = number.end()
            continue
        for op in _OPERATORS:
            if query.startswith(op, pos):
                before, after = query[pos - 1 : pos], query[pos + len(op) : pos + len(op) + 1]
                if op in "+-*/%" and _IDENT_CHAR.match(before) and _IDENT_CHAR.match(after):
                    # `a-b` reads as a minus between two fields: a name holding it needs backticks
                    problems.append(f"unquoted identifier holding {op!r} at {pos}")
                out.append(Token(("op", op, op)))
                pos += len(op)
                break
        else:
            problems.append(f"character {c!r} at {pos} starts no ES|QL token")
            pos += 1
    return out, problems


def _string(query: str, start: int) -> tuple[str, int, list[str]]:
    problems: list[str] = []
    value: list[str] = []
    pos = start + 1
    while pos < len(query):
        c = query[pos]
        if c == '"':
            return "".join(value), pos + 1, problems
        if c in "\r\n":
            problems.append(f"raw line break inside the string starting at {start}")
        if c == "\\":
            nxt = query[pos + 1 : pos + 2]
            if nxt not in _ESCAPES:
                problems.append(f"invalid escape \\{nxt} in the string starting at {start}")
                value.append(nxt)
            else:
                value.append(_ESCAPES[nxt])
            pos += 2
            continue
        value.append(c)
        pos += 1
    problems.append(f"unterminated string starting at {start}")
    return "".join(value), len(query), problems


def _quoted_identifier(query: str, start: int) -> tuple[str, int, list[str]]:
    pos = start + 1
    value: list[str] = []
    while pos < len(query):
        if query[pos] == "`":
            if query.startswith("``", pos):
                value.append("`")
                pos += 2
                continue
            name = "".join(value)
            problems = [] if name and "\n" not in name else [f"bad quoted identifier at {start}"]
            return name, pos + 1, problems
        value.append(query[pos])
        pos += 1
    return "".join(value), len(query), [f"unterminated quoted identifier at {start}"]


def like_pattern_problems(pattern: str) -> list[str]:
    """A LIKE pattern (after the string layer): a backslash may only escape ``*``, ``?``, ``\\``."""
    problems = []
    pos = 0
    while pos < len(pattern):
        if pattern[pos] == "\\":
            if pattern[pos + 1 : pos + 2] not in ("*", "?", "\\"):
                problems.append(f"backslash before {pattern[pos + 1 : pos + 2]!r} in LIKE pattern")
            pos += 2
            continue
        pos += 1
    return problems


def check_esql(query: str) -> list[str]:
    """Every lexical problem of an ES|QL query (empty list: it passes)."""
    toks, problems = tokens(query)
    for previous, token in zip(toks, toks[1:]):
        if previous.kind == "keyword" and previous.value.lower() == "like":
            if token.kind == "string":
                problems.extend(like_pattern_problems(token.value))
    return problems
