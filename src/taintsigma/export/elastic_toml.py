"""Elastic detection-rules TOML: the file format of github.com/elastic/detection-rules.

Layout as that repository's formatter writes it: ``[metadata]`` (creation_date, integration,
maturity, updated_date), then ``[rule]`` with keys in alphabetical order and ``query`` last as a
literal block, then one ``[[rule.threat]]`` per tactic (techniques, sub-techniques, tactic),
sorted by id. ``version`` is left out (the repository's version lock assigns it), as are
``interval`` and ``max_signals`` when they equal Kibana's defaults (5m, 100).

The few writers below are ours rather than tomli-w's: a rule proposed upstream must look as the
repository's own formatter writes it (the query as a ``'''`` literal block, the description
wrapped in a multi-line string, dates as quoted ``YYYY/MM/DD``), which tomli-w cannot produce;
every output is parsed back with tomllib in the tests (tests/test_export_escaping.py).
"""

from __future__ import annotations

import json
import textwrap
from typing import Any

from taintsigma.errors import ExportError
from taintsigma.export.common import QuerySource
from taintsigma.export.elastic_correlation import elastic_rule_query
from taintsigma.rules.metadata import RuleMetadata

# Sigma status -> detection-rules maturity.
MATURITY = {
    "stable": "production",
    "test": "development",
    "experimental": "experimental",
    "deprecated": "deprecated",
    "unsupported": "development",
}
KIBANA_DEFAULT_INTERVAL = "5m"
KIBANA_DEFAULT_MAX_SIGNALS = 100
WRAP = 120
LIST_INDENT = " " * 4


def build(*, meta: RuleMetadata, stem: str, queries: QuerySource) -> tuple[str, list[str]]:
    """The TOML file (without a final newline) and the warnings raised making it."""
    if meta.created is None:
        raise ExportError(
            "field 'date': detection-rules needs the rule's creation date (Sigma 'date')",
            rule_id=meta.rule_id,
        )
    if not meta.elastic_authors:
        raise ExportError(
            "field 'author': detection-rules needs an author (Sigma 'author' or elastic.author)",
            rule_id=meta.rule_id,
        )
    query = elastic_rule_query(meta, stem, queries)
    metadata: dict[str, Any] = {"creation_date": _date(meta.created)}
    if meta.elastic_integration:
        metadata["integration"] = list(meta.elastic_integration)
    metadata["maturity"] = MATURITY.get(meta.status or "", "development")
    metadata["updated_date"] = _date(meta.modified or meta.created)

    body: dict[str, Any] = {
        "author": list(meta.elastic_authors),
        "description": meta.description,
        "false_positives": list(meta.elastic_false_positives) or None,
        "from": f"now-{(query.window or meta.lookback).text}",
        "index": list(meta.require_elastic_index()) if query.type != "esql" else None,
        "interval": None if meta.interval.text == KIBANA_DEFAULT_INTERVAL else meta.interval.text,
        "language": query.language,
        "license": meta.license,
        "max_signals": (None if meta.max_alerts == KIBANA_DEFAULT_MAX_SIGNALS else meta.max_alerts),
        "name": meta.title,
        "note": meta.note,
        "references": list(meta.references) or None,
        "risk_score": meta.risk_score,
        "rule_id": meta.rule_id,
        "setup": meta.setup,
        "severity": meta.severity,
        "tags": list(meta.elastic_tags) or None,
        "timestamp_override": meta.timestamp_override,
        "type": query.type,
    }
    lines = ["[metadata]"]
    lines += [f"{key} = {_value(key, value)}" for key, value in metadata.items()]
    lines += ["", "[rule]"]
    lines += [f"{key} = {_value(key, value)}" for key, value in body.items() if value is not None]
    lines.append(f"query = {_query(query.query)}")
    # Kibana's build-time fields, written as the formatter writes a list of tables.
    for key, entries in (
        ("related_integrations", query.related_integrations),
        ("required_fields", query.required_fields),
    ):
        for entry in entries:
            lines += ["", f"[[rule.{key}]]"]
            lines += [f"{k} = {_scalar(entry[k])}" for k in sorted(entry)]
    for entry in sorted(meta.attack.to_kibana(), key=lambda e: e["tactic"]["id"]):
        lines += ["", "[[rule.threat]]", f"framework = {_basic(entry['framework'])}"]
        for technique in sorted(entry.get("technique", []), key=lambda t: t["id"]):
            lines += ["", "[[rule.threat.technique]]", *_ref(technique)]
            for sub in sorted(technique.get("subtechnique", []), key=lambda s: s["id"]):
                lines += ["", "[[rule.threat.technique.subtechnique]]", *_ref(sub)]
        lines += ["", "[rule.threat.tactic]", *_ref(entry["tactic"])]
    if query.threshold is not None:
        threshold = query.threshold
        lines += ["", "[rule.threshold]", f"field = {_list(threshold['field'])}"]
        lines.append(f"value = {threshold['value']}")
        for entry in threshold.get("cardinality", []):
            lines += ["", "[[rule.threshold.cardinality]]"]
            lines += [f"field = {_basic(entry['field'])}", f"value = {entry['value']}"]
    return "\n".join(lines), list(query.warnings)


def filename(meta: RuleMetadata, stem: str) -> str:
    """``<primary tactic>_<stem>.toml``, as detection-rules names its rule files.

    The primary tactic is the rule's first ATT&CK tactic (``persistence``,
    ``defense_evasion``); a rule without one keeps its stem.
    """
    tactics = meta.attack.tactics
    if not tactics:
        return f"{stem}.toml"
    prefix = "_".join(tactics[0].name.lower().replace("-", " ").split())
    return f"{prefix}_{stem}.toml"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _basic(str(value))


def _ref(item: dict[str, str]) -> list[str]:
    return [f"{key} = {_basic(item[key])}" for key in ("id", "name", "reference")]


def _date(value: Any) -> str:
    return f"{value.year:04d}/{value.month:02d}/{value.day:02d}"


def _value(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, list)):
        raise TypeError(f"cannot write {key}={value!r} as TOML")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return _list(value)
    if key in ("note", "setup"):
        return _markdown(value)
    return _text(value)


def _list(values: list[str]) -> str:
    """A list as the formatter writes it: one item a line past 100 characters in all, and an
    item longer than 110 characters wrapped in an indented multi-line string."""
    if sum(len(v) + 3 for v in values) > 100:
        items = []
        for value in values:
            if len(value) > WRAP - 10 and " " in value:
                lines = _wrap(value, indent=LIST_INDENT)
                items.append(
                    f'{LIST_INDENT}"""\n'
                    + "".join(f"{line}\n" for line in lines)
                    + f'{LIST_INDENT}"""'
                )
            else:
                items.append(LIST_INDENT + _text(value))
        return "[\n" + ",\n".join(items) + ",\n]"
    return "[" + ", ".join(_text(v) for v in values) + "]"


def _text(value: str) -> str:
    """Text on one line, or wrapped at 120 columns in a multi-line string when longer or quoted.

    Like detection-rules' formatter, which joins the lines again when it loads the rule.
    """
    lines = _wrap(value)
    if len(lines) <= 1 and '"' not in value:
        return _basic(value)
    return '"""\n' + "\n".join(lines) + '\n"""'


def _wrap(value: str, indent: str = "") -> list[str]:
    lines = textwrap.wrap(
        " ".join(value.split()),
        width=WRAP,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [_escape_multiline(line) for line in lines]


def _markdown(value: str) -> str:
    """Markdown kept as written (newlines and all) in a multi-line basic string."""
    text = _escape_multiline(value)
    if text.startswith("\n"):  # TOML drops a newline right after the opening quotes
        text = "\\n" + text[1:]
    return '"""' + text + '"""'


def _query(query: str) -> str:
    """The query as a literal block, or a basic block if it holds what a literal cannot."""
    text = query.strip()
    if "'''" not in text and not any(ord(c) < 32 and c not in "\n\t" for c in text):
        return "'''\n" + text + "\n'''"
    return '"""\n' + _escape_multiline(text) + '\n"""'


def _basic(value: str) -> str:
    # JSON string escapes are valid TOML basic-string escapes; TOML also forbids a raw DEL.
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007F")


def _escape_multiline(value: str) -> str:
    out = []
    for char in value:
        if char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\n")
        elif char == "\t":
            out.append("\t")
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    text = "".join(out)
    if text.endswith('"'):  # a quote right before the closing delimiter would end it early
        text = text[:-1] + '\\"'
    return text.replace('"""', '""\\"')
