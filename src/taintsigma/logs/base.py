"""What every adapter provides: parse one raw line, and say what of it the raw bytes show."""

from __future__ import annotations

from taintsigma.logs.event import Event, Location, LogSourceKey, Unparsed


class Adapter:
    """Turns one raw line (bytes, line ending included or not) into an Event or an Unparsed.

    ``raw_fields`` names the event fields whose text is a verbatim substring of the raw line;
    only literals of those fields may be used to skip a line before parsing it.
    ``json_escaped`` says the raw line is JSON, so a literal holding characters JSON may
    escape cannot be searched for as is. ``always_parse`` is a lower-case bytes regex: a line
    it matches is parsed whatever the prefilter says (for example a journald ``MESSAGE`` sent
    as a byte array, whose text is not in the line). ``constants`` and ``adds_path`` say what
    text an event holds that its line does not. ``logsource`` is the log source of every
    event the adapter yields when it is always the same (None when it varies per event).
    """

    name: str = ""
    raw_fields: frozenset[str] = frozenset()
    json_escaped: bool = False
    always_parse: bytes | None = None
    # Text values the adapter adds that are not copied from the line (besides numbers, time
    # stamps and log.file.path): a keyword searching every value may match them.
    constants: frozenset[str] = frozenset()
    adds_path: bool = False
    # Lines starting with white space continue the previous line (Filebeat's log files).
    multiline: bool = False
    logsource: LogSourceKey | None = None
    # True when the adapter also builds events from the lines it parsed (derived(), finish()).
    derives: bool = False
    # Raw fields whose values are few and frequent (a record type): a prefilter prefers others.
    weak_fields: frozenset[str] = frozenset()
    # A lower-case RE2 pattern finding raw lines that hold a value written hex-encoded (as
    # auditd does): a literal is then also searched in its hex form, and lines holding a hex
    # value are always parsed when a literal has no usable hex form.
    hex_encoded: bytes | None = None

    def raw_pattern(self, field: str, literal: str) -> bytes | None:
        """A lower-case RE2 pattern that finds, in raw lines, a value of ``field`` holding
        the lower-case ``literal``, for fields whose raw text is not the value itself (None:
        no such pattern). Matching more lines is safe; missing one is not."""
        return None

    def derived_patterns(self, literal: str) -> list[bytes]:
        """Lower-case RE2 patterns finding the raw lines whose events hold, in a value the
        adapter derives rather than copies, text containing ``literal`` (for keywords)."""
        return []

    def parse(self, raw: bytes, origin: Location) -> Event | Unparsed | None:
        """Return the line's Event, an Unparsed with the reason, or None for a blank line."""
        raise NotImplementedError

    def derived(self) -> list[Event | Unparsed]:
        """Events completed by the lines parsed so far, and notes on damaged lines kept
        (``Unparsed`` with ``kept``); each is returned once."""
        return []

    def finish(self) -> list[Event | Unparsed]:
        """At the end of an input: what derived() still holds, and the events left open."""
        return []
