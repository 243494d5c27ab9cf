"""Small builders for tests: rules from Python dicts instead of pasted YAML."""

from __future__ import annotations

import uuid
from typing import Any

from sigma.rule import SigmaRule


def make_rule(
    detection: dict[str, Any] | None = None,
    condition: str | list[str] = "selection",
    *,
    logsource: dict[str, str] | None = None,
    title: str = "Test rule",
    rule_id: str | None = None,
    **extra: Any,
) -> SigmaRule:
    """Build a SigmaRule from a detection mapping (``condition`` is added to it)."""
    body = dict(detection or {})
    body["condition"] = condition
    return SigmaRule.from_dict(
        {
            "title": title,
            "id": rule_id or str(uuid.uuid4()),
            "status": "test",
            "logsource": logsource or {"product": "linux", "service": "syslog"},
            "detection": body,
            "level": extra.pop("level", "medium"),
            **extra,
        }
    )
