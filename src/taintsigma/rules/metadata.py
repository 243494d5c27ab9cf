"""Detection metadata of a rule, one source of truth: the Sigma rule plus documented defaults.

Every export format reads a rule's schedule, severity, risk, ATT&CK mapping and texts from
:func:`load_metadata`; nothing is retyped per SIEM. docs/metadata.md lists each key, where it
comes from and its default.

>>> from taintsigma import load_rules
>>> meta = load_metadata(next(iter(load_rules())))
>>> meta.risk_score, meta.interval.text, meta.lookback.text, meta.max_alerts
(21, '5m', '9m', 100)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taintsigma.errors import ExportError
from taintsigma.rules.attack import AttackMapping, map_attack_tags
from taintsigma.rules.issues import rule_issue
from taintsigma.rules.loader import rule_id as _rule_id
from taintsigma.rules.loader import rule_path

LEVELS = ("informational", "low", "medium", "high", "critical")
DEFAULT_LEVEL = "medium"
# Elastic's convention: the risk score at the top of each severity band.
RISK_SCORES = {"informational": 21, "low": 21, "medium": 47, "high": 73, "critical": 99}
# Elastic has no "informational" severity; its lowest is "low".
ELASTIC_SEVERITIES = {
    "informational": "low",
    "low": "low",
    "medium": "medium",
    "high": "high",
    "critical": "critical",
}
DEFAULT_INTERVAL = "5m"
LOOKBACK_MARGIN_SECONDS = 4 * 60  # default look-back = interval + 4m (Elastic's own habit)
DEFAULT_MAX_ALERTS = 100
DEFAULT_VERSION = 1
# Elastic's prebuilt rules all search by ingest time: a late event (a host that was offline,
# a shipper backlog) still falls in some run's look-back.
DEFAULT_TIMESTAMP_OVERRIDE = "event.ingested"
# Default Elasticsearch index patterns by logsource (product, service).
DEFAULT_ELASTIC_INDEX: dict[tuple[str | None, str | None], tuple[str, ...]] = {
    ("linux", "syslog"): ("logs-system.syslog-*",),
}
# Custom attributes taintsigma reads (kept by pySigma in rule.custom_attributes).
KNOWN_ATTRIBUTES = ("risk_score", "schedule", "version", "elastic", "note", "setup")
SCHEDULE_KEYS = ("interval", "lookback", "max_alerts")
ELASTIC_KEYS = ("index", "tags", "author", "timestamp_override", "false_positives", "integration")

_DURATION = re.compile(r"([1-9][0-9]*)([smhd])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, kw_only=True)
class Duration:
    """A time span written as Kibana and taintsigma write them: ``5m``, ``1h``, ``30s``, ``1d``."""

    seconds: int

    @property
    def text(self) -> str:
        """The span in the largest unit that divides it: 540 s → ``9m``."""
        for unit in ("d", "h", "m", "s"):
            size = _UNIT_SECONDS[unit]
            if self.seconds % size == 0:
                return f"{self.seconds // size}{unit}"
        raise AssertionError("unreachable: every span is a whole number of seconds")

    @classmethod
    def parse(cls, text: object) -> Duration:
        """``'5m'`` → Duration(seconds=300); anything else raises ValueError."""
        match = _DURATION.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ValueError(f"{text!r} is not a time span like 30s, 5m, 1h or 1d")
        return cls(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])


@dataclass(frozen=True, kw_only=True)
class RuleMetadata:
    """Everything an export needs to know about a rule besides its query."""

    rule_id: str
    title: str
    description: str
    level: str
    severity: str
    risk_score: int
    interval: Duration
    lookback: Duration
    max_alerts: int
    version: int
    authors: tuple[str, ...]
    license: str | None
    references: tuple[str, ...]
    false_positives: tuple[str, ...]
    note: str | None
    setup: str | None
    status: str | None
    created: dt.date | None
    modified: dt.date | None
    product: str | None
    service: str | None
    category: str | None
    attack: AttackMapping = field(repr=False)
    # Elastic-only keys (rule.elastic.*)
    elastic_index: tuple[str, ...] | None
    elastic_tags: tuple[str, ...]
    elastic_authors: tuple[str, ...]
    elastic_false_positives: tuple[str, ...]
    elastic_integration: tuple[str, ...]
    timestamp_override: str | None
    # Messages for the user: ATT&CK tags left out, unknown metadata keys.
    warnings: tuple[str, ...] = ()

    def require_elastic_index(self) -> tuple[str, ...]:
        """The Elasticsearch index patterns, or an ExportError saying how to set them."""
        if self.elastic_index is None:
            raise ExportError(
                f"field 'elastic.index' is required: no default index pattern for logsource "
                f"product={self.product} service={self.service}; set elastic.index in the rule",
                rule_id=self.rule_id,
            )
        return self.elastic_index


def load_metadata(rule: Any) -> RuleMetadata:
    """Collect and validate a rule's metadata, applying the documented defaults.

    Raises ExportError naming the rule and the field when a value is invalid (an interval of
    ``5 minutes``, a risk score of 120, …) or a required one is missing (``id``,
    ``description``).
    """
    rid = _rule_id(rule)
    path = rule_path(rule)
    custom: Mapping[str, Any] = getattr(rule, "custom_attributes", None) or {}
    problems: list[str] = []

    def fail(name: str, message: str) -> ExportError:
        return ExportError(f"field '{name}': {message}", path=path, rule_id=rid)

    if getattr(rule, "id", None) is None:
        raise fail("id", "a rule needs an id (a UUID) to be exported; SIEMs key rules by it")
    description = str(rule.description or "").strip()
    if not description:
        raise fail("description", "a rule needs a description to be exported")

    level = _level(rule)
    risk_score = _int(custom, "risk_score", RISK_SCORES[level], 0, 100, fail)

    schedule = _mapping(custom, "schedule", "with interval, lookback and max_alerts", fail)
    problems += _unknown(schedule, SCHEDULE_KEYS, "schedule", rid)
    interval = _duration(schedule, "interval", DEFAULT_INTERVAL, fail)
    window = getattr(getattr(rule, "timespan", None), "seconds", None)  # correlation rules
    if "lookback" in schedule:
        lookback = _duration(schedule, "lookback", "", fail)
        if window and lookback.seconds < window:
            problems.append(
                f"rule {rid}: schedule.lookback {lookback.text} is shorter than the correlation "
                f"timespan {Duration(seconds=window).text}: a run cannot see a whole window"
            )
    else:
        seconds = interval.seconds + LOOKBACK_MARGIN_SECONDS
        if window:  # every window ending since the previous run must fit in one search
            seconds = max(seconds, window + interval.seconds)
        lookback = Duration(seconds=seconds)
    if lookback.seconds < interval.seconds:
        raise fail(
            "schedule.lookback",
            f"{lookback.text} is shorter than the interval {interval.text}: events between "
            "runs would never be searched",
        )
    max_alerts = _int(schedule, "max_alerts", DEFAULT_MAX_ALERTS, 1, 10_000_000, fail, "schedule.")
    version = _int(custom, "version", DEFAULT_VERSION, 1, 2**31 - 1, fail)

    elastic = _mapping(custom, "elastic", "(index, tags, author, timestamp_override, …)", fail)
    problems += _unknown(elastic, ELASTIC_KEYS, "elastic", rid)

    note = _text(custom, "note", fail)
    setup = _text(custom, "setup", fail)
    authors = _authors(rule.author)
    attack = map_attack_tags(rule.tags or [], rule_id=rid)
    problems = list(attack.problems) + problems

    logsource = _logsource(rule)
    product = getattr(logsource, "product", None)
    service = getattr(logsource, "service", None)
    if "index" in elastic:
        index: tuple[str, ...] | None = _strings(elastic, "index", fail, "elastic.")
        if not index:
            raise fail("elastic.index", "must name at least one index pattern")
    else:
        index = DEFAULT_ELASTIC_INDEX.get((product, service))

    if "tags" in elastic:
        elastic_tags = _strings(elastic, "tags", fail, "elastic.")
    else:
        elastic_tags = _default_elastic_tags(product, attack, note)

    false_positives = tuple(str(f) for f in rule.falsepositives or [])
    if "false_positives" in elastic:
        elastic_fps = _strings(elastic, "false_positives", fail, "elastic.")
    else:
        elastic_fps = false_positives

    # Absent: the default; set to null or '' to leave timestamp_override out (search @timestamp).
    timestamp_override = elastic.get("timestamp_override", DEFAULT_TIMESTAMP_OVERRIDE) or None
    if timestamp_override is not None and not isinstance(timestamp_override, str):
        raise fail("elastic.timestamp_override", "must be a field name such as event.ingested")

    return RuleMetadata(
        rule_id=rid,
        title=str(rule.title),
        description=description,
        level=level,
        severity=ELASTIC_SEVERITIES[level],
        risk_score=risk_score,
        interval=interval,
        lookback=lookback,
        max_alerts=max_alerts,
        version=version,
        authors=authors,
        license=str(rule.license) if getattr(rule, "license", None) else None,
        references=tuple(str(r) for r in rule.references or []),
        false_positives=false_positives,
        note=note,
        setup=setup,
        status=rule.status.name.lower() if getattr(rule, "status", None) else None,
        created=getattr(rule, "date", None),
        modified=getattr(rule, "modified", None),
        product=product,
        service=service,
        category=getattr(logsource, "category", None),
        attack=attack,
        elastic_index=index,
        elastic_tags=elastic_tags,
        elastic_authors=(
            _strings(elastic, "author", fail, "elastic.") if "author" in elastic else authors
        ),
        elastic_false_positives=elastic_fps,
        elastic_integration=(
            _strings(elastic, "integration", fail, "elastic.")
            if "integration" in elastic
            else _default_integration(index)
        ),
        timestamp_override=timestamp_override,
        warnings=tuple(problems),
    )


def check_metadata(rule: Any) -> list[Any]:
    """``taintsigma check``'s metadata check: what export would refuse, as check issues."""

    try:
        meta = load_metadata(rule)
    except ExportError as err:
        if err.message.startswith(("field 'id'", "field 'description'")):
            return []  # pySigma's own validators report these (identifier/description checks)
        return [rule_issue(rule, check="export_metadata", severity="high", message=err.message)]
    return [
        rule_issue(rule, check="export_metadata", severity="low", message=message)
        for message in meta.warnings
        if message not in meta.attack.problems  # ATT&CK tags have their own check (attack_tags)
    ]


def _logsource(rule: Any) -> Any:
    """The rule's log source; a correlation's is that of its rules when they share one."""
    if getattr(rule, "logsource", None) is not None:
        return rule.logsource
    sources: list[Any] = []
    for reference in getattr(rule, "rules", None) or []:
        base = getattr(reference, "rule", None)
        source = _logsource(base) if base is not None else None
        if source is None:
            return None
        key = (source.category, source.product, source.service)
        if key not in [k for k, _ in sources]:
            sources.append((key, source))
    return sources[0][1] if len(sources) == 1 else None


def _level(rule: Any) -> str:
    level = getattr(rule, "level", None)
    if level is None:
        return DEFAULT_LEVEL
    name = getattr(level, "name", str(level)).lower()
    return name if name in LEVELS else DEFAULT_LEVEL


def _int(
    source: Mapping[str, Any],
    key: str,
    default: int,
    low: int,
    high: int,
    fail: Any,
    prefix: str = "",
) -> int:
    if key not in source or source[key] is None:
        return default
    value = source[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(prefix + key, f"must be a whole number from {low} to {high}, not {value!r}")
    if not low <= value <= high:
        raise fail(prefix + key, f"must be from {low} to {high}, not {value}")
    return value


def _duration(source: Mapping[str, Any], key: str, default: str, fail: Any) -> Duration:
    value = source.get(key, default)
    try:
        return Duration.parse(value)
    except ValueError as err:
        raise fail(f"schedule.{key}", str(err)) from None


def _mapping(source: Mapping[str, Any], key: str, hint: str, fail: Any) -> Mapping[str, Any]:
    value = source.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise fail(key, f"must be a mapping {hint}")
    return value


def _text(source: Mapping[str, Any], key: str, fail: Any) -> str | None:
    value = source.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise fail(key, "must be text (Markdown)")
    return value.rstrip("\n") if value.strip() else None


def _strings(source: Mapping[str, Any], key: str, fail: Any, prefix: str = "") -> tuple[str, ...]:
    value = source.get(key)
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, Sequence) or not all(isinstance(v, str) for v in value):
        raise fail(prefix + key, "must be a list of strings")
    return tuple(value)


def _authors(author: object) -> tuple[str, ...]:
    if not author:
        return ()
    return tuple(a.strip() for a in str(author).split(",") if a.strip())


def _unknown(source: Mapping[str, Any], known: Sequence[str], where: str, rid: str) -> list[str]:
    return [
        f"rule {rid}: unknown key '{where}.{key}' ignored (known: {', '.join(known)})"
        for key in source
        if key not in known
    ]


def _default_elastic_tags(
    product: str | None, attack: AttackMapping, note: str | None
) -> tuple[str, ...]:
    tags: list[str] = []
    os_names = {"linux": "Linux", "windows": "Windows", "macos": "macOS"}
    if product in os_names:
        tags += ["Domain: Endpoint", f"OS: {os_names[product]}"]
    tags.append("Use Case: Threat Detection")
    tags += [f"Tactic: {t.name}" for t in attack.tactics]
    if note:
        tags.append("Resources: Investigation Guide")
    return tuple(tags)


def _default_integration(index: tuple[str, ...] | None) -> tuple[str, ...]:
    # logs-<integration>.<dataset>-* is the Fleet data stream naming scheme.
    found: list[str] = []
    for pattern in index or ():
        match = re.fullmatch(r"logs-([a-z0-9_]+)\.[^-]*-\*?.*", pattern)
        if match and match[1] not in found:
            found.append(match[1])
    return tuple(found)
