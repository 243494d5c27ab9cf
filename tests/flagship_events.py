"""The flagship rule's real events (as Filebeat indexes a kernel line), flat ECS field names.

Shared by the real-engine tests of the Lucene and EQL targets.
"""

from __future__ import annotations

FLAGSHIP_TEXT = (
    "module verification failed: signature and/or required key missing - tainting kernel"
)
LINUX = {"host.os.type": "linux", "event.dataset": "system.syslog"}


def event(**fields: object) -> dict[str, str]:
    """An ECS syslog document: ``process__name="x"`` sets ``process.name``."""
    doc = dict(LINUX)
    for name, value in fields.items():
        doc[name.replace("__", ".")] = str(value)
    return doc


# The flagship rule's positive and negative events, as Filebeat indexes a kernel line.
FLAGSHIP_EVENTS = {
    "with_timestamp": event(
        process__name="kernel",
        host__hostname="web01",
        message=f"[ 1234.567890] evilmod: {FLAGSHIP_TEXT}",
    ),
    "without_timestamp": event(
        process__name="kernel", host__hostname="web01", message=f"evilmod: {FLAGSHIP_TEXT}"
    ),
    "upper_case_message": event(
        process__name="kernel", host__hostname="web01", message=f"evilmod: {FLAGSHIP_TEXT.upper()}"
    ),
    "other_program": event(
        process__name="systemd", host__hostname="web01", message=f"evilmod: {FLAGSHIP_TEXT}"
    ),
    "other_dataset": {
        **event(process__name="kernel", message=f"evilmod: {FLAGSHIP_TEXT}"),
        "event.dataset": "system.auth",
    },
    "other_os": {
        **event(process__name="kernel", message=f"evilmod: {FLAGSHIP_TEXT}"),
        "host.os.type": "windows",
    },
    "partial_message": event(
        process__name="kernel", message="evilmod: module verification failed: bad signature"
    ),
    "words_reordered": event(
        process__name="kernel",
        message="tainting kernel - missing key required and/or signature: failed verification module",
    ),
}
FLAGSHIP_POSITIVE = {"with_timestamp", "without_timestamp", "upper_case_message"}
