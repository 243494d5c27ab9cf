"""The rules' necessary literals, as searches over an audit log's raw text.

Every rule has clauses (:func:`taintsigma.evaluate.prefilter.rule_clauses`): sets of
(field, literal) of which an event the rule matches holds one in each. Here each clause
becomes RE2 patterns over raw records, lower-cased: the literal as written (auditd quotes
plain values), its hex-encoded form (auditd hex-encodes values holding a space, a quote, a
control or non-ASCII character, and PROCTITLE's arguments always), or the adapter's pattern
for fields the record writes otherwise (``type``, ``SYSCALL``). A record, or an execution,
is read only when, for some rule, every clause that can be searched is found.

For process_creation events the raw text is the execution's SYSCALL, EXECVE and CWD records
(``Image``, ``CommandLine``, ``CurrentDirectory``, ``User``, ``ProcessId`` …) and its parent's
image and command line (``ParentImage``, ``ParentCommandLine``); a literal of the command line
is cut at its spaces (the arguments are separate values in the EXECVE record).

A clause that cannot be searched (a field the raw text does not show, a literal too short
to search) is left out; a rule left with no clause makes every record a candidate, and then
:func:`audit_filters` returns None (the reader parses every line the usual way). Lines that
might fold, by Unicode case folding, into a literal they do not hold, hex values holding
non-ASCII bytes, EXECVE arguments split in pieces and values the parser reports as damaged
and lines that are no audit record (holding no ``audit(``) are always read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any
from weakref import WeakKeyDictionary

import re2

from taintsigma.evaluate.prefilter import ANYWHERE, EXACT, NUMBER, raw_piece, rule_clauses
from taintsigma.logs.auditd import AUDITD, ESCAPED, PROCESS_CREATION, AuditdAdapter
from taintsigma.logs.reader import FOLDING_TO_ASCII, re2_finder
from taintsigma.scan.raw_literals import rule_literals

# Fields whose values are few and frequent: searched for only after a rule's other literals.
WEAK_FIELDS = frozenset({"type", "SYSCALL", "key"})
OWN_FIELDS = frozenset(
    {"Image", "CommandLine", "CurrentDirectory", "User", "ProcessId", "ParentProcessId", "Computer"}
)
PARENT_FIELDS = frozenset({"ParentImage", "ParentCommandLine"})
# An execution's ids, in its SYSCALL record's ppid= and pid=.
ID_FIELDS = frozenset({"ProcessId", "ParentProcessId"})
_ARGUMENT = re.compile(r"a\d+")
_ESCAPED_KEYS = b"|".join(sorted(k.encode() for k in ESCAPED))
_EXECVE_LINE = rb"type=(?:execve|1309) [^\n]*"
_ALWAYS = [
    *(re2.escape(c.encode()).lower() for c in FOLDING_TO_ASCII),
    rb"(?:^|[ \n])a\d+\[\d+\]=",  # an argument in pieces: a literal may span two
    # a hex value holding non-ASCII bytes (folding may turn them into a literal)
    rb"(?:^|[ \n'])(?:" + _ESCAPED_KEYS + rb")=(?:[0-7][0-9a-f])*[89a-f][0-9a-f]",
    _EXECVE_LINE + rb" a\d+=(?:[0-7][0-9a-f])*[89a-f][0-9a-f]",
]
# Values the parser reports as damaged (neither quoted nor hex): read, so they are reported.
_DAMAGED = [
    rb"(?:^|[ \n'])(?:" + _ESCAPED_KEYS + rb")=(?:[^\"'(?0-9a-f \n][^ \n]*"
    rb"|[0-9a-f]+[^0-9a-f \n\"'][^ \n]*|(?:[0-9a-f]{2})*[0-9a-f](?:[ \n']|$))",
    _EXECVE_LINE + rb" a\d+=(?:[^\"'(?0-9a-f \n][^ \n]*"
    rb"|[0-9a-f]+[^0-9a-f \n\"'][^ \n]*|(?:[0-9a-f]{2})*[0-9a-f](?:[ \n]|$))",
]
# A line holding no ``audit(``: not a record (a line cut short, text from elsewhere), read so
# that it is counted and named as unparsable.
_NOT_A_RECORD = [
    rb"(?m:^(?:[^a\n]|a[^u\n]|au[^d\n]|aud[^i\n]|audi[^t\n]|audit[^(\n])+(?:a|au|aud|audi|audit)?$)"
]
# Any hex-encoded value: where a literal has no usable hex form.
_ANY_HEX = rb"(?:^|[ \n'])(?:" + _ESCAPED_KEYS + rb")=[0-9a-f]|" + _EXECVE_LINE + rb" a\d+=[0-9a-f]"
# The start of a hex-encoded value, at a whole byte: of a field auditd hex-encodes, or of an
# EXECVE argument (a SYSCALL record's a0…a3 are hex numbers, not text).
_HEX_VALUE = (
    rb"(?:(?:^|[ \n'])(?:" + _ESCAPED_KEYS + rb")|" + _EXECVE_LINE + rb" a\d+(?:\[\d+\])?)"
    rb"=(?:[0-9a-f]{2})*"
)
# Any text of a value before a literal in it: quoted (spaces and all, as the parser reads
# it), or unquoted.
_IN_VALUE = rb'(?:"[^"\n]*?|[^ \n]*?)'
# A hex-encoded value of an execution's records (its image, directory or an argument).
_PROCESS_HEX = rb"(?:^|[ \n])(?:exe|cwd|comm|a\d+(?:\[\d+\])?)=[0-9a-f]*"
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 128 << 20
_OPTIONS.log_errors = False


def hex_form(literal: str) -> bytes | None:
    """An RE2 pattern finding ``literal`` (lower-case) in a lower-cased hex-encoded value
    (either case of a letter; a space also as a NUL, as PROCTITLE separates arguments), at
    a whole byte of the value; None when not ASCII."""
    if not literal or not literal.isascii():
        return None
    parts = []
    for char in literal:
        low, high = f"{ord(char.lower()):02x}", f"{ord(char.upper()):02x}"
        if char == " ":
            parts.append("[02]0")
        else:
            parts.append(low if low == high else f"[{high[0]}{low[0]}]{low[1]}")
    return _HEX_VALUE + "".join(parts).encode()


def _with_hex(piece: str) -> list[bytes]:
    return [re2.escape(piece.encode()), hex_form(piece) or _ANY_HEX]


def any_record_patterns(rules: Iterable[Any], adapter: AuditdAdapter) -> list[bytes] | None:
    """RE2 patterns (lower-case) one of which is found in every raw audit record one of ``rules`` may match,
    wherever the record sits in a line (a syslog line carries one after its header): for
    each rule, the pairs of its strongest necessary clause (rule_clauses) as a record writes
    them (``type`` and ``SYSCALL`` by name or number, a value as written or hex-encoded, a
    number as its digits), and the records the reader always reads (split arguments, hex
    values holding non-ASCII bytes, damaged values; characters folding into ASCII letters are
    hits of the reader's own, logs/reader.py make_searcher, and would be caseless ``s`` and
    ``k`` here). None when a rule has no clause."""
    folding = {re2.escape(c.encode()).lower() for c in FOLDING_TO_ASCII}
    found: set[bytes] = (set(_ALWAYS) - folding) | set(_DAMAGED)
    for rule in rules:
        clauses = rule_clauses(rule)
        if not clauses:
            return None
        for field_name, literal in clauses[0]:
            if literal.startswith(NUMBER):
                found.add(re2.escape(literal.removeprefix(NUMBER).encode()))
                continue
            literal = literal.removeprefix(EXACT)
            pattern = adapter.raw_pattern(field_name, literal) if field_name in WEAK_FIELDS else None
            if pattern is not None and field_name != "key":
                found.add(pattern)
            elif literal:
                found.update(_with_hex(literal))
            else:
                return None
    return sorted(found)


class ClauseFilter:
    """Rules as clauses of pattern ids: ``may_match`` is True when, for some rule, each clause
    has a pattern found (in ``own`` text, or for parent clauses in the parent's)."""

    def __init__(
        self,
        rules: list[list[tuple[list[bytes], list[bytes]]]],
        always: list[bytes],
        reads_ids: bool = False,
    ):
        self._ids: dict[tuple[str, bytes], int] = {}
        self.rules: list[list[tuple[frozenset[int], frozenset[int]]]] = []
        for clauses in rules:
            self.rules.append([(self._ids_of("own", own), self._ids_of("parent", parent))
                               for own, parent in clauses])  # fmt: skip
        self.always = self._ids_of("own", always)  # found in the same set search
        self.own = _set([p for (side, p) in self._ids if side == "own"], self._ids, "own")
        self.parent = _set([p for (side, p) in self._ids if side == "parent"], self._ids, "parent")
        self.by_anchor: dict[int, list[int]] = {}
        self.parent_anchored: list[int] = []
        self.reads_ids = reads_ids  # whether a clause names a process id (ProcessId, …)
        for index, compiled in enumerate(self.rules):
            own_ids, parent_ids = compiled[0]
            for pid in own_ids:
                self.by_anchor.setdefault(pid, []).append(index)
            if parent_ids:
                self.parent_anchored.append(index)
        anchors = sorted(
            {p for (side, p), i in self._ids.items() if side == "own" and i in self.by_anchor}
        )
        self.search = re2_finder(b"|".join(anchors + always), _OPTIONS)

    def _ids_of(self, side: str, patterns: list[bytes]) -> frozenset[int]:
        return frozenset(self._ids.setdefault((side, p), len(self._ids)) for p in patterns)

    def may_match(self, line: bytes, parent: Callable[[], bytes | None] | None = None) -> bool:
        present = self.own(line)
        if present & self.always:
            return True
        parent_present: set[int] | None = None
        candidates = {i for p in present for i in self.by_anchor.get(p, ())}
        candidates.update(self.parent_anchored)
        for index in sorted(candidates):
            for own_ids, parent_ids in self.rules[index]:
                if own_ids & present:
                    continue
                if parent_ids and parent is not None:
                    if parent_present is None:
                        text = parent()
                        parent_present = self.parent(text) if text is not None else set()
                    if parent_ids & parent_present:
                        continue
                break
            else:
                return True
        return False

    def __call__(self, own: bytes, parent: Callable[[], bytes | None]) -> bool:
        return self.may_match(own, parent)


def _set(
    patterns: list[bytes], ids: dict[tuple[str, bytes], int], side: str
) -> Callable[[bytes], set[int]]:
    if not patterns:
        return lambda text: set()
    found = re2.Set.SearchSet(_OPTIONS)
    mapping = []
    for pattern in patterns:
        found.Add(pattern)
        mapping.append(ids[(side, pattern)])
    found.Compile()
    match: Any = found.Match  # a list of indexes, None when nothing is found

    return lambda text: {mapping[i] for i in match(text) or ()}


_CACHE: WeakKeyDictionary[Any, tuple[ClauseFilter, ClauseFilter] | None] = WeakKeyDictionary()


def audit_filters(
    view: Any, adapter: AuditdAdapter
) -> tuple[ClauseFilter, ClauseFilter] | None:
    """(records, processes) filters of the rules of ``view`` (scan/routing.py's
    NativeRuleSetView); None when some rule leaves nothing to search for (every line is then
    parsed)."""
    if view in _CACHE:
        return _CACHE[view]
    records_source, process_source = view.source(AUDITD), view.source(PROCESS_CREATION)
    record_rules = [
        _record_clauses(r, adapter) for r in view.matcher.rules if records_source.admits(r.header)
    ]
    process_rules = [
        _process_clauses(r)
        for r in view.matcher.rules
        if (r.header.logsource.category or r.header.logsource.service)
        and process_source.admits(r.header)
    ]
    filters = None
    if all(record_rules) and all(clauses for clauses, _ in process_rules):
        processes = ClauseFilter(
            [clauses for clauses, _ in process_rules],
            _ALWAYS,
            reads_ids=any(reads for _, reads in process_rules),
        )
        filters = (ClauseFilter(record_rules, _ALWAYS + _DAMAGED + _NOT_A_RECORD), processes)
    _CACHE[view] = filters
    return filters


def _record_clauses(rule: Any, adapter: AuditdAdapter) -> list[tuple[list[bytes], list[bytes]]]:
    def usable(name: str) -> int:
        if name == "type":
            return 1  # the weakest: a few record types make most of a log
        if name in WEAK_FIELDS:
            return 2
        if (
            name == ANYWHERE
            or name in adapter.raw_fields
            or adapter.raw_pattern(name, "") is not None
        ):
            return 3
        return 0

    def anchor_key(clause: frozenset[tuple[str, str]]) -> tuple[int, ...]:
        # the clause to search first: the best fields, the fewest weak ones, the longest literals
        weak = sum(1 for name, _ in clause if usable(name) < 3)
        return (
            min(usable(n) for n, _ in clause),
            -weak,
            min(len(l) for _, l in clause),
            -len(clause),
        )

    found: list[tuple[list[bytes], list[bytes]]] = []
    for clause in sorted(
        rule_clauses(rule, usable), key=lambda c: (anchor_key(c), sorted(c)), reverse=True
    ):
        patterns = _record_patterns(clause, adapter)
        if patterns:
            found.append((patterns, []))
    return found


def _record_patterns(
    clause: Iterable[tuple[str, str]], adapter: AuditdAdapter
) -> list[bytes] | None:
    patterns: list[bytes] = []
    for name, literal in clause:
        if literal.startswith(NUMBER):
            found = _number_pattern(name, literal[len(NUMBER) :], adapter)
            if found is None:
                return None
            patterns.append(found)
            continue
        exact = literal.startswith(EXACT)
        literal = literal.removeprefix(EXACT)
        if exact and _ARGUMENT.fullmatch(name) and literal.isascii():
            # the whole argument: quoted as it is, or hex-encoded
            head = rb"(?:^|[ \n])" + name.encode() + b"="
            hexed = hex_form(literal)
            assert hexed is not None
            end = rb"(?:[ \n]|$)"
            patterns.append(head + b'"' + re2.escape(literal.encode()) + b'"' + end)
            patterns.append(
                _EXECVE_LINE + b" " + name.encode() + b"=" + hexed[len(_HEX_VALUE) :] + end
            )
            continue
        piece = raw_piece(literal, False)
        if _ARGUMENT.fullmatch(name):
            if not piece:
                return None
            head = rb"(?:^|[ \n])" + name.encode() + b"="
            patterns.append(head + _IN_VALUE + re2.escape(piece.encode()))
            hexed = hex_form(piece)
            form = hexed[len(_HEX_VALUE) :] if hexed else None
            patterns.append(
                _EXECVE_LINE + b" " + name.encode() + rb"=(?:[0-9a-f]{2})*" + form
                if form
                else _ANY_HEX
            )
            continue
        pieces = rule_literals(frozenset({(name, literal)}), adapter, ANYWHERE)
        if pieces is None:
            return None
        for text, kind in pieces:
            if kind == "pattern":
                patterns.append(text.encode())
            elif kind == "anywhere" or name in ESCAPED:
                patterns.extend(_with_hex(text))
            else:
                patterns.append(re2.escape(text.encode()))
    return patterns


def _number_pattern(name: str, number: str, adapter: AuditdAdapter) -> bytes | None:
    """Values of ``name`` that may equal ``number`` as numbers (evaluate.values.as_number):
    the digits with leading zeros, a value with a sign, a point or an exponent, and a
    hex-encoded value (its text may be " 33")."""
    argument = _ARGUMENT.fullmatch(name) is not None
    if not argument and name not in adapter.raw_fields:
        return None
    head = rb"(?:^|[ \n'])" + re2.escape(name.encode()) + b"="
    end = rb"\"?(?:[ \n']|$)"
    sign = rb"-" if number.startswith("-") else rb"\+?"
    digits = number.lstrip("-").encode()
    forms = [
        rb"\"?" + sign + b"0*" + digits + end,  # 33, +33, 033
        rb"\"?[+-]?[0-9]*\.[0-9]*(?:e[+-]?[0-9]+)?" + end,  # 33.0, .33e2
        rb"\"?[+-]?[0-9]+e[+-]?[0-9]+" + end,  # 33e0
    ]
    found = head + b"(?:" + b"|".join(forms) + b")"
    # hex-encoded: a numeral among white space (any control or non-ASCII byte, to be safe)
    numeral = rb"=(?:[01][0-9a-f]|20|2b|2d|2e|3[0-9]|45|65|[89a-f][0-9a-f])+(?:[ \n']|$)"
    if argument:
        return found + b"|" + _EXECVE_LINE + b" " + name.encode() + numeral
    if name in ESCAPED:
        return found + b"|" + head[:-1] + numeral
    return found


# Where each process_creation field's text is in an execution's raw records.
_PROCESS_FIELD_AT = {
    "Image": rb"(?:^|[ \n])exe=" + _IN_VALUE,
    "CurrentDirectory": rb"(?:^|[ \n])cwd=" + _IN_VALUE,
    "CommandLine": rb"type=(?:execve|1309) [^\n]*? a\d+(?:\[\d+\])?=[^\n]*?",
}


def _process_clauses(rule: Any) -> tuple[list[tuple[list[bytes], list[bytes]]], bool]:
    """The rule's clauses as (own, parent) patterns, and whether one names a process id."""

    def usable(name: str) -> int:
        return 2 if name in OWN_FIELDS else 1 if name in PARENT_FIELDS else 0

    found: list[tuple[list[bytes], list[bytes]]] = []
    reads_ids = False
    for clause in rule_clauses(rule, usable):
        own: list[bytes] = []
        parent: list[bytes] = []
        for name, literal in clause:
            literal = literal.removeprefix(EXACT)
            if literal.startswith(NUMBER) or name not in OWN_FIELDS | PARENT_FIELDS:
                break
            # a parent's text is its image and command line, raw or read: searched whole
            at = _PROCESS_FIELD_AT.get(name) if name in OWN_FIELDS else None
            pattern = _spaced_pattern(raw_piece(literal, False), at)
            if pattern is None:
                break
            (own if name in OWN_FIELDS else parent).append(pattern)
        else:
            found.append((own, parent))
            reads_ids = reads_ids or any(name in ID_FIELDS for name, _ in clause)
    return found, reads_ids


def _spaced_pattern(piece: str, at: bytes | None) -> bytes | None:
    """A literal of a field in an execution's raw text (``at``: where the field's value
    starts; None: anywhere). A command line's space-separated words may be in separate
    arguments, or in one hex-encoded argument (one holding a space is hex-encoded whole):
    the words in order, each as written or hex-encoded."""
    words = [word for word in piece.split(" ") if word]
    if not words:
        return None
    forms: list[bytes] = []
    for word in words:
        hexed = hex_form(word)
        hex_text = hexed[len(_HEX_VALUE) :] if hexed else rb"[0-9a-f]{2}"
        if not forms:
            hex_text = (rb"[0-9a-f]*" if at else _PROCESS_HEX) + hex_text
        forms.append(b"(?:" + re2.escape(word.encode()) + b"|" + hex_text + b")")
    return (at or b"") + rb"[^\n]*".join(forms)
