"""A KQL wildcard value that Kibana sends as a ``query_string``: whitespace splits it.

Kibana builds a ``wildcard`` query for an unquoted KQL value holding ``*`` only when the field's
one type in the data view is ``keyword`` (kbn-es-query ``src/kuery/functions/is.ts``:
``isKeywordField = field.esTypes?.length === 1 && field.esTypes.includes('keyword')``); on
every other field (ECS ``wildcard`` fields such as ``process.command_line``,
``constant_keyword``, …) it sends ``query_string: {fields: [f], query:
toQueryStringQuery(value)}`` (``node_types/wildcard.ts``), which backslash-escapes the
query_string operators but not whitespace. Elasticsearch's query_string (Lucene's classic
QueryParser) ends a term at whitespace and ORs the terms: ``* --form*`` runs as
``f:* OR f:\\-\\-form*``, every event with the field.

KQL cannot escape a space (``\\ `` is not in its grammar; ``\\t``, ``\\n``, ``\\r`` become the
real characters), so such a value cannot be written exactly. :func:`single_term` gives the
tightest value that reaches Elasticsearch as one term: each run of splitting whitespace becomes
``*``. It matches every value the original matches (a superset). docs/kql.md states the rule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

WILDCARD = None  # a '*' among the characters of a value (as taintsigma.convert.kql.syntax)

# Lucene's classic QueryParser (QueryParser.jj, token _WHITESPACE), which Elasticsearch's
# query_string extends: the characters that end a term.
SPLITTING_WHITESPACE = frozenset(" \t\n\r\u3000")

Items = Sequence[str | None]


def splits(items: Items) -> bool:
    """True if the value holds a wildcard and a character the query_string splits on."""
    return WILDCARD in items and any(c is not None and c in SPLITTING_WHITESPACE for c in items)


def single_term(items: Items) -> tuple[str | None, ...]:
    """The value with each run of splitting whitespace written as ``*`` (runs of ``*`` once).

    >>> "".join(c or "*" for c in single_term([None, " ", "-", "-", "x", " ", None]))
    '*--x*'
    """
    out: list[str | None] = []
    for char in items:
        item = WILDCARD if char is not None and char in SPLITTING_WHITESPACE else char
        if item is WILDCARD and out and out[-1] is WILDCARD:
            continue
        out.append(item)
    return tuple(out)


def covers(general: Items, specific: Items) -> bool:
    """True if every value ``specific`` matches, ``general`` matches too (``*`` patterns).

    With ``*`` the only wildcard, that holds exactly when ``general`` matches the text of
    ``specific`` with each of its ``*`` read as a character neither pattern holds: such a
    character can only be matched by a ``*`` of ``general``, which then matches whatever
    ``specific``'s ``*`` stands for.
    """
    gen = list(general)
    text = list(specific)
    # Classic greedy matching with backtracking to the last '*' (linear in practice).
    g = t = 0
    star, mark = -1, 0
    while t < len(text):
        if g < len(gen) and gen[g] is not WILDCARD and text[t] is not WILDCARD and (
            gen[g] == text[t]
        ):
            g, t = g + 1, t + 1
        elif g < len(gen) and gen[g] is WILDCARD:
            star, mark = g, t
            g += 1
        elif star >= 0:
            mark += 1
            g, t = star + 1, mark
        else:
            return False
    while g < len(gen) and gen[g] is WILDCARD:
        g += 1
    return g == len(gen)


def drop_covered(values: Iterable[Items]) -> list[tuple[str | None, ...]]:
    """The values of an OR without those another one covers (duplicates once), in order."""
    unique = list(dict.fromkeys(tuple(v) for v in values))
    kept: list[tuple[str | None, ...]] = []
    for index, value in enumerate(unique):
        if any(covers(other, value) for j, other in enumerate(unique) if j != index and (
            not covers(value, other) or j < index  # of two equal languages keep the first
        )):
            continue
        kept.append(value)
    return kept
