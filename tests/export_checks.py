"""Schema checks of exported packages, shared by the export tests (tests/schemas/ holds the data)."""

from __future__ import annotations

import configparser
import json
import re
import tomllib
from pathlib import Path

import jsonschema
import yaml

SCHEMAS = Path(__file__).resolve().parent / "schemas"


def _load(name: str) -> dict:
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def check_kibana_ndjson(text: str) -> list[dict]:
    """Every line is one JSON object valid against the Kibana rule schema; returns them."""
    schema = _load("kibana_rule.schema.json")
    rules = []
    for line in text.splitlines():
        rule = json.loads(line)
        jsonschema.validate(rule, schema)
        rules.append(rule)
    assert rules, "no rule in the NDJSON"
    return rules


def check_elastic_toml(text: str) -> dict:
    """The TOML parses and has the keys detection-rules requires; returns it."""
    spec = _load("elastic_toml_required.json")
    data = tomllib.loads(text)
    for key in spec["metadata"]:
        assert key in data["metadata"], f"[metadata] lacks {key}"
        if key.endswith("_date"):
            assert re.fullmatch(spec["date_pattern"], data["metadata"][key])
    assert data["metadata"].get("maturity", "production") in spec["maturity"]
    for key in spec["rule"] + spec["rule_query_types"][data["rule"]["type"]]:
        assert key in data["rule"], f"[rule] lacks {key}"
    assert isinstance(data["rule"]["author"], list) and data["rule"]["author"]
    assert 0 <= data["rule"]["risk_score"] <= 100
    for threat in data["rule"].get("threat", []):
        assert threat["framework"] == "MITRE ATT&CK"
        assert set(threat["tactic"]) == {"id", "name", "reference"}
    return data


def parse_savedsearches(text: str) -> configparser.ConfigParser:
    """Parse savedsearches.conf as INI, joining backslash-continued lines (newline kept)."""
    joined = re.sub(r"\\\n", "\x00", text)
    parser = configparser.ConfigParser(interpolation=None, delimiters=("=",), strict=True)
    parser.optionxform = str  # Splunk keys are case-sensitive (enableSched)
    parser.read_string(joined)
    for section in parser.sections():
        for key, value in parser[section].items():
            parser[section][key] = value.replace("\x00", "\n")
    return parser


def check_splunk_savedsearches(text: str) -> configparser.ConfigParser:
    """Every stanza sets Splunk's required keys, only known keys, with allowed values."""
    spec = _load("splunk_savedsearches_keys.json")
    parser = parse_savedsearches(text)
    assert parser.sections(), "no stanza"
    for name in parser.sections():
        stanza = parser[name]
        missing = [k for k in spec["required"] if k not in stanza]
        assert not missing, f"[{name}] lacks {missing}"
        unknown = [k for k in stanza if k not in spec["known"]]
        assert not unknown, f"[{name}] has keys Splunk does not know: {unknown}"
        for key in ("alert.severity", "action.notable.param.severity", "counttype", "relation"):
            assert stanza[key] in spec[key], f"[{name}] {key} = {stanza[key]!r}"
        assert re.fullmatch(r"-[1-9][0-9]*[smhd](@m)?", stanza["dispatch.earliest_time"])
        assert len(stanza["cron_schedule"].split()) == 5
        annotations = json.loads(stanza["action.correlationsearch.annotations"])
        for tid in annotations.get("mitre_attack", []):
            assert re.fullmatch(r"T[0-9]{4}(\.[0-9]{3})?", tid)
    return parser


def check_sentinel(text: str) -> list[dict]:
    """Every YAML document has the fields Sentinel's template validation requires."""
    spec = _load("sentinel_required.json")
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    assert documents, "no rule in the YAML"
    for doc in documents:
        missing = [k for k in spec["required"] if k not in doc]
        assert not missing, f"{doc.get('id')}: lacks {missing}"
        assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", doc["id"])
        for key in ("severity", "triggerOperator", "kind"):
            assert doc[key] in spec[key], f"{key} = {doc[key]!r}"
        assert set(doc["tactics"]) <= set(spec["tactics"])
        for key in ("queryFrequency", "queryPeriod"):
            assert re.fullmatch(spec["span_pattern"], doc[key]), f"{key} = {doc[key]!r}"
        for key in ("name", "description", "query"):
            assert 0 < len(doc[key]) <= spec["max"][key]
        assert isinstance(doc["triggerThreshold"], int)
        assert 0 <= doc["triggerThreshold"] <= spec["max"]["triggerThreshold"]
        for connector in doc["requiredDataConnectors"]:
            assert connector["connectorId"] and connector["dataTypes"]
        assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", doc["version"])
    return documents


def check_sentinel_arm(text: str) -> list[dict]:
    """Each JSON document is an ARM template valid against the schema; returns the rules."""
    schema = _load("sentinel_arm.schema.json")
    decoder = json.JSONDecoder()
    templates, position, text = [], 0, text.strip()
    while position < len(text):
        template, end = decoder.raw_decode(text, position)
        jsonschema.validate(template, schema)
        templates.append(template)
        position = end
        while position < len(text) and text[position].isspace():
            position += 1
    assert templates, "no template"
    rules = [t["resources"][0] for t in templates]
    for rule in rules:
        properties = rule["properties"]
        assert _seconds(properties["queryPeriod"]) >= _seconds(properties["queryFrequency"])
        assert 5 * 60 <= _seconds(properties["queryFrequency"]) <= 14 * 86400
        assert rule["id"].endswith(rule["name"].rsplit("/", 1)[1])
    return rules


def _seconds(duration: str) -> int:
    match = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?", duration)
    assert match, duration
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


CHECKS = {
    "kibana-ndjson": check_kibana_ndjson,
    "elastic-toml": check_elastic_toml,
    "splunk-savedsearches": check_splunk_savedsearches,
    "sentinel": check_sentinel,
    "sentinel-arm": check_sentinel_arm,
}
