"""Splunk savedsearches.conf: one stanza per rule, a scheduled alert and an ES correlation search.

Keys are those of Splunk's savedsearches.conf.spec (search, cron_schedule, dispatch.*,
enableSched, counttype/relation/quantity, alert.*) plus the Enterprise Security correlation
search and notable event settings (action.correlationsearch.*, action.notable.*), with the
MITRE ATT&CK technique ids in ``action.correlationsearch.annotations``
(``{"mitre_attack": ["T1547.006", "T1014"]}``), the JSON Enterprise Security reads. Multi-line
values end each line but the last with a backslash, the .conf continuation.
"""

from __future__ import annotations

import json

from taintsigma.convert.conversion import Conversion
from taintsigma.errors import ExportError
from taintsigma.export.common import QuerySource, description_with_guide
from taintsigma.export.correlation import correlation_plan, require_count
from taintsigma.rules.metadata import Duration, RuleMetadata

# Sigma level -> alert.severity (1 debug, 2 info, 3 warn, 4 error, 5 severe, 6 fatal).
ALERT_SEVERITY = {"informational": 2, "low": 3, "medium": 4, "high": 5, "critical": 6}
ENDPOINT_PRODUCTS = ("linux", "windows", "macos")


def build(*, meta: RuleMetadata, stem: str, queries: QuerySource) -> tuple[str, list[str]]:
    """The stanza (without a final newline) and the warnings raised making it."""
    plan = correlation_plan(queries.rule(stem))
    if plan is not None:
        require_count(plan, meta, "Splunk")
    result = queries.query("splunk", stem, meta.rule_id)
    if not isinstance(result, Conversion):
        raise result
    search = result.query
    risk_field, risk_type = RISK_OBJECT_FIELD, "system"
    if plan is not None:
        search = closed_windows(search, plan.timespan, meta.interval)
        grouped = queries.mapped_fields("splunk", plan.bases[0], plan.group_by)
        if RISK_OBJECT_FIELD not in grouped:
            # the search's rows carry only the group-by fields
            risk_field, risk_type = (grouped[0], "other") if grouped else (None, "")
    correlated = plan is not None
    name = stanza_name(meta)
    annotations: dict[str, object] = {}
    if meta.attack.named_technique_ids:
        annotations["mitre_attack"] = list(meta.attack.named_technique_ids)
    domain = "endpoint" if meta.product in ENDPOINT_PRODUCTS else "threat"
    settings: list[tuple[str, str]] = [
        ("action.correlationsearch.enabled", "1"),
        ("action.correlationsearch.label", meta.title),
        ("action.correlationsearch.annotations", json.dumps(annotations, ensure_ascii=False)),
        ("action.notable", "1"),
        ("action.notable.param.rule_title", meta.title),
        ("action.notable.param.rule_description", meta.description),
        ("action.notable.param.security_domain", domain),
        ("action.notable.param.severity", meta.level),
        *_risk(meta, risk_field, risk_type),
        ("alert.severity", str(ALERT_SEVERITY[meta.level])),
        ("alert.track", "1"),
        ("counttype", "number of events"),
        ("relation", "greater than"),
        ("quantity", "0"),
        ("cron_schedule", cron_schedule(meta.interval, meta.rule_id)),
        ("description", description_with_guide(meta)),
        ("disabled", "1"),
        *_windows(meta, correlated),
        ("dispatch.max_count", str(meta.max_alerts)),
        ("enableSched", "1"),
        ("search", search),
    ]
    lines = [f"[{name}]"] + [f"{key} = {conf_value(value)}" for key, value in settings]
    return "\n".join(lines), list(result.warnings)


def _windows(meta: RuleMetadata, correlated: bool) -> list[tuple[str, str]]:
    """The search window of each run.

    A single-event rule tiles index time: each run searches the events indexed in the whole
    minutes since the previous run, so each event is searched once (one alert), and an event
    indexed late still counts while its _time is within the look-back. A correlation needs
    every event of its window, whenever indexed: it searches the whole look-back, and its
    query keeps only the windows that closed since the previous run (splunk_correlation).
    """
    windows = [
        ("dispatch.earliest_time", f"-{meta.lookback.text}@m"),
        ("dispatch.latest_time", "@m" if correlated else "now"),
    ]
    if not correlated:
        windows += [
            ("dispatch.index_earliest", f"-{meta.interval.text}@m"),
            ("dispatch.index_latest", "@m"),
        ]
    return windows


# Splunk sets `host` on every event it indexes: the machine the event came from.
RISK_OBJECT_FIELD = "host"


def _risk(meta: RuleMetadata, field: str | None, kind: str) -> list[tuple[str, str]]:
    """Enterprise Security's risk action: the host (or a correlation's first group-by field),
    scored with the rule's risk score; none for a correlation without group-by."""
    if field is None:
        return []
    risk = [{"risk_object_field": field, "risk_object_type": kind, "risk_score": meta.risk_score}]
    return [
        ("action.risk", "1"),
        ("action.risk.param._risk", json.dumps(risk)),
        ("action.risk.param._risk_message", f"{_one_line(meta.title)} on ${field}$"),
    ]


def closed_windows(search: str, timespan: Duration, interval: Duration) -> str:
    """A correlation search keeping each fixed window once: the windows (``bin _time``) that
    closed since the previous run, so overlapping look-backs raise no second alert."""
    span = timespan.seconds
    return (
        f'{search}\n| where _time + {span} > relative_time(now(), "-{interval.text}@m")'
        f' AND _time + {span} <= relative_time(now(), "@m")'
    )


def stanza_name(meta: RuleMetadata) -> str:
    """``<title> - <id>`` on one line, without the brackets that would end the header."""
    name = f"{_one_line(meta.title)} - {meta.rule_id}"
    return name.replace("[", "(").replace("]", ")")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def cron_schedule(interval: Duration, rule_id: str) -> str:
    """A cron expression running every ``interval``; spans cron cannot keep raise ExportError.

    >>> cron_schedule(Duration.parse("5m"), "r")
    '*/5 * * * *'
    """
    minutes, seconds = divmod(interval.seconds, 60)
    if seconds == 0:
        if minutes == 1:
            return "* * * * *"
        if minutes < 60 and 60 % minutes == 0:
            return f"*/{minutes} * * * *"
        hours, rest = divmod(minutes, 60)
        if rest == 0 and hours == 1:
            return "0 * * * *"
        if rest == 0 and hours < 24 and 24 % hours == 0:
            return f"0 */{hours} * * *"
        if rest == 0 and hours == 24:
            return "0 0 * * *"
    raise ExportError(
        f"field 'schedule.interval': {interval.text} cannot be a Splunk cron schedule without "
        "drifting; use whole minutes dividing an hour (1m, 5m, 15m…), hours dividing a day, "
        "or 1d",
        rule_id=rule_id,
    )


def conf_value(value: str) -> str:
    """A value for a .conf file: line breaks kept with the backslash continuation.

    A line that itself ends in a backslash gets a trailing space, so the backslash stays text.
    """
    lines = value.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = [line + " " if line.endswith("\\") else line for line in lines]
    return "\\\n".join(lines)
