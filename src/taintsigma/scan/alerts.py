"""Alerts of a scan: which rule matched which event, where it was read, as an ECS-style dict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import orjson

from taintsigma.logs.event import Event, Location, get_field


@dataclass(frozen=True, kw_only=True)
class RuleInfo:
    """What an alert says about its rule."""

    id: str
    name: str
    level: str | None
    risk_score: int | None
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The alert's ``rule`` object, with ``threat`` from the bundled ATT&CK snapshot."""
        return {
            "id": self.id,
            "name": self.name,
            "level": self.level,
            "risk_score": self.risk_score,
            "tags": list(self.tags),
            "threat": _threat(self.tags),
        }


@dataclass(frozen=True, kw_only=True)
class Alert:
    """One rule matching one event.

    >>> a = Alert(rule=RuleInfo(id="r", name="R", level="low", risk_score=21),
    ...           event=Event(fields={"@timestamp": "2026-01-01T00:00:00.000Z"}),
    ...           origin=Location(path="f", line=3, offset=10))
    >>> a.to_dict()["source"]
    {'path': 'f', 'line': 3, 'offset': 10}
    """

    rule: RuleInfo
    event: Event
    origin: Location | None = field(default=None, compare=False)

    @property
    def timestamp(self) -> str | None:
        """The event's ``@timestamp`` (or ``timestamp``), if it has one."""
        value = get_field(self.event.fields, "@timestamp") or get_field(
            self.event.fields, "timestamp"
        )
        return value if isinstance(value, str) else None

    def to_dict(self) -> dict[str, Any]:
        """The alert as PRODUCT.md section 6 defines it: rule, event, source, @timestamp."""
        return {
            "@timestamp": self.timestamp,
            "rule": self.rule.to_dict(),
            "event": _plain(self.event.fields),
            "source": self.source(),
        }

    def source(self) -> dict[str, Any]:
        """Where the event was read: path, line and (when known) byte offset; {} if unknown."""
        origin = self.origin or self.event.origin
        if origin is None:
            return {}
        found: dict[str, Any] = {"path": origin.path, "line": origin.line}
        if origin.offset is not None:
            found["offset"] = origin.offset
        return found


def alert_json(alert: Alert) -> bytes:
    """``alert.to_dict()`` as compact JSON (orjson, unknown types as ``str``), its rule
    object written once per rule.

    >>> a = Alert(rule=RuleInfo(id="r", name="R", level="low", risk_score=21),
    ...           event=Event(fields={"m": "x"}), origin=Location(path="f", line=3))
    >>> alert_json(a) == orjson.dumps(a.to_dict(), default=str)
    True
    """
    return b"".join((
        b'{"@timestamp":', orjson.dumps(alert.timestamp), b',"rule":', _rule_json(alert.rule),
        b',"event":', orjson.dumps(_plain(alert.event.fields), default=str),
        b',"source":', orjson.dumps(alert.source()), b"}",
    ))  # fmt: skip


@cache
def _rule_json(rule: RuleInfo) -> bytes:
    return orjson.dumps(rule.to_dict(), default=str)


def rule_info(rule: Any) -> RuleInfo:
    """Build RuleInfo from a pySigma rule (id, title, level, risk_score attribute, tags), or
    from a compiled rule's RuleHeader (taintsigma.evaluate.compiled), which holds them.

    A rule's own ``risk_score`` wins; else its level's, as exports give it.
    """
    from taintsigma.evaluate.compiled import RuleHeader, level_name

    if isinstance(rule, RuleHeader):
        return RuleInfo(
            id=rule.id, name=rule.title, level=rule.level, risk_score=rule.risk_score,
            tags=rule.tags,
        )  # fmt: skip
    from taintsigma.rules.loader import rule_id
    from taintsigma.rules.metadata import RISK_SCORES

    level = level_name(rule)
    custom = getattr(rule, "custom_attributes", {}) or {}
    risk = custom.get("risk_score")
    if not isinstance(risk, int):
        risk = RISK_SCORES.get(level or "")
    return RuleInfo(
        id=rule_id(rule),
        name=rule.title,
        level=level,
        risk_score=risk,
        tags=tuple(str(tag) for tag in (getattr(rule, "tags", None) or ())),
    )


@cache
def _threat_cached(tags: tuple[str, ...]) -> tuple[Any, ...]:
    from taintsigma.rules.attack import map_attack_tags

    # Bad tags are left out silently: `taintsigma check` reports them; a scan goes on.
    return tuple(map_attack_tags(tags).to_kibana())


def _threat(tags: Sequence[str]) -> list[Any]:
    if not any(tag.lower().startswith("attack.") for tag in tags):
        return []
    return list(_threat_cached(tuple(tags)))


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
