"""Telemetry carried inside Linux log lines: audit records and Sysmon events in syslog/journal.

auditd's audisp-syslog plugin (and the kernel, when no auditd runs: ``kernel: audit:
type=1300 audit(…)``) writes audit records as syslog messages; journald stores them as entries
with ``_TRANSPORT=audit`` (systemd's journald-audit.c: ``MESSAGE`` is the record type name and
its fields, ``_AUDIT_ID`` the serial, ``_SOURCE_REALTIME_TIMESTAMP`` its time); Sysmon for Linux
writes its ``<Event>`` XML to syslog with the tag ``sysmon``. The wrapped adapter still yields
the syslog document (syslog rules see the line as any other); the record inside becomes a
*derived* event in Sigma's names (``service: auditd`` or Sysmon's category), matched by the
rules naming that service or category.
"""

from __future__ import annotations

from taintsigma.logs.auditd import AuditdAdapter
from taintsigma.logs.base import Adapter
from taintsigma.logs.ecs_ndjson import load_object
from taintsigma.logs.event import Event, Location, Unparsed, get_field
from taintsigma.logs.sysmon import is_sysmon, parse_sysmon

# Lines that may carry a record (lower-case bytes, as the reader searches): an audit record
# in a syslog line, a Sysmon event, a journal entry of the audit transport.
AUDIT_CARRIER = rb"audit\(\d"
OTHER_CARRIERS = rb"linux-sysmon|\"_transport\"\s*:\s*\"audit\""
CARRIES = AUDIT_CARRIER + b"|" + OTHER_CARRIERS


class DerivingAdapter(Adapter):
    """Wraps the syslog or journald adapter: same events, plus the records their lines carry.

    >>> from taintsigma.logs.syslog import SyslogAdapter
    >>> adapter = DerivingAdapter(SyslogAdapter())
    >>> line = (b'Nov 30 10:00:00 h audisp-syslog: type=PATH msg=audit(1700000000.1:7): '
    ...     b'item=0 name="/etc/shadow"')
    >>> adapter.parse(line, Location(path="s", line=1)).fields["process"]["name"]
    'audisp-syslog'
    >>> [e.fields["name"] for e in adapter.derived()]
    ['/etc/shadow']
    """

    derives = True

    def __init__(self, inner: Adapter) -> None:
        self.inner = inner
        self.name = inner.name
        self.raw_fields = inner.raw_fields
        self.json_escaped = inner.json_escaped
        self.constants = inner.constants
        self.adds_path = inner.adds_path
        self.multiline = inner.multiline
        self.logsource = inner.logsource
        self.always_parse = CARRIES + (b"|" + inner.always_parse if inner.always_parse else b"")
        self.audit = AuditdAdapter()
        self._derived: list[Event | Unparsed] = []

    def parse(self, raw: bytes, origin: Location) -> Event | Unparsed | None:
        item = self.inner.parse(raw, origin)
        if isinstance(item, Event):
            message = item.fields.get("message")
            if isinstance(message, str):
                if get_field(item.fields, "systemd.transport") == "audit":
                    self._journal_audit(raw, message, origin)
                elif "audit(" in message:
                    self._audit(message, origin, raw)
                elif is_sysmon(message):
                    self._sysmon(message, origin, raw)
        return item

    def _audit(self, text: str, origin: Location, raw: bytes) -> None:
        found = self.audit.parse_text(text, origin, raw)
        if isinstance(found, Event):
            found = Event(fields=found.fields, origin=origin, logsource=found.logsource, derived=True)
        else:  # the line is a syslog event all the same: the record in it is damaged
            found = Unparsed(origin=origin, reason=found.reason, raw=raw, kept=True)
        self._derived.append(found)
        self._derived.extend(self.audit.derived())

    def _journal_audit(self, raw: bytes, message: str, origin: Location) -> None:
        entry = load_object(raw)
        if isinstance(entry, str):
            return
        kind, _, rest = message.partition(" ")
        kind = str(entry.get("_AUDIT_TYPE_NAME") or kind)
        serial = str(entry.get("_AUDIT_ID"))
        micros = str(entry.get("_SOURCE_REALTIME_TIMESTAMP") or entry.get("__REALTIME_TIMESTAMP"))
        if not micros.isdigit() or not serial.isdigit():
            self._derived.append(
                Unparsed(
                    origin=origin,
                    reason="journald audit entry without _AUDIT_ID or time",
                    raw=raw,
                    kept=True,
                )
            )
            return
        seconds, fraction = divmod(int(micros), 1_000_000)
        header = f"type={kind} msg=audit({seconds}.{fraction // 1000:03d}:{serial}): "
        self._audit(header + rest, origin, raw)

    def _sysmon(self, message: str, origin: Location, raw: bytes) -> None:
        parsed = parse_sysmon(message)
        if isinstance(parsed, str):
            self._derived.append(Unparsed(origin=origin, reason=parsed, raw=raw, kept=True))
            return
        fields, source = parsed
        self._derived.append(Event(fields=fields, origin=origin, logsource=source, derived=True))

    def derived(self) -> list[Event | Unparsed]:
        done, self._derived = self._derived, []
        return done

    def finish(self) -> list[Event | Unparsed]:
        return self.derived() + self.audit.finish()

