"""A rule's necessary literals as the pieces a raw-line search looks for (scan/routing.py's
prefilter plans, scan/audit_filters.py's record filters)."""

from __future__ import annotations

from typing import Any

# Characters of the values an adapter derives rather than copies (time stamps, offsets,
# pids, uptimes, codes), lower-cased: a keyword made only of them may match those.
_DERIVED = frozenset("0123456789:.+-tz ")


def pattern_of(adapter: Any, name: str) -> bool:
    return adapter.raw_pattern(name, "") is not None


def rule_literals(
    need: frozenset[tuple[str, str]] | None, adapter: Any, anywhere: str
) -> list[tuple[str, str]] | None:
    """The raw-line pieces of a rule's necessary literals, each with its kind (``field``,
    ``anywhere`` for a keyword searching every value, ``pattern`` for an RE2 pattern from
    Adapter.raw_pattern), or None when one of them cannot be searched in raw lines."""
    from taintsigma.evaluate.prefilter import raw_piece

    if not need:
        return None
    pieces: list[tuple[str, str]] = []
    for field_name, literal in need:
        everywhere = field_name == anywhere
        pattern = None if everywhere else adapter.raw_pattern(field_name, literal)
        if pattern is not None:
            pieces.append((pattern.decode(), "pattern"))
            continue
        if not everywhere and field_name not in adapter.raw_fields:
            return None
        piece = raw_piece(literal, adapter.json_escaped)
        if not piece:
            return None
        # A keyword may match a value the adapter adds: refuse literals that could sit in one
        # (a constant, or a number or time stamp it derives).
        if everywhere and (
            set(piece) <= _DERIVED or any(piece in c.lower() for c in adapter.constants)
        ):
            return None
        pieces.append((piece, "anywhere" if everywhere else "field"))
        if everywhere:
            # values the adapter derives (a system call's name from its number) may hold it
            pieces.extend((p.decode(), "pattern") for p in adapter.derived_patterns(literal))
    return pieces
