"""SigmaHQ's 210 Linux rules exported in every format: how many package, that each package
passes its format's schema checks, that each refusal is one line, and that each logsource
carries its data source (index and integration, Sentinel connectors, Splunk scoping) as the
pipelines in backends/ say (docs/export.md)."""

from __future__ import annotations

import json
import tomllib
from functools import cache

import pytest
import yaml
from export_checks import CHECKS, parse_savedsearches

from taintsigma.convert.mappings import logsource_indices, logsource_key
from taintsigma.errors import ErrorPolicy
from taintsigma.export.run import export_rules
from taintsigma.rules.loader import output_stems
from tests.linux_corpus import RULE_COUNT, corpus_rules

# Packages each format makes today (of 210). The Elastic formats refuse the two OMIGOD rules
# (Sysmon's LogonId has no Elastic Defend field); Splunk refuses those two and one network
# rule whose Image the CIM Network_Traffic model lacks (tests/test_linux_corpus.py).
EXPORTED = {
    "kibana-ndjson": 208,
    "elastic-toml": 208,
    "splunk-savedsearches": 207,
    "sentinel": 210,
    "sentinel-arm": 210,
}

# One rule per logsource, with what its package must name (the data of backends/).
SAMPLES = {
    "linux/process_creation": (
        "proc_creation_lnx_userdel",
        ["logs-endpoint.events.process-*"],
        "endpoint",
        "imProcessCreate",
        "DeviceProcessEvents",
        'tag="process"',
    ),
    "linux/file_event": (
        "file_event_lnx_doas_conf_creation",
        ["logs-endpoint.events.file-*"],
        "endpoint",
        "imFileEvent",
        "DeviceFileEvents",
        'tag="filesystem"',
    ),
    "linux/network_connection": (
        "net_connection_lnx_ngrok_tunnel",
        ["logs-endpoint.events.network-*"],
        "endpoint",
        "imNetworkSession",
        "DeviceNetworkEvents",
        'tag="network"',
    ),
    "linux/auditd": (
        "lnx_auditd_audio_capture",
        ["filebeat-*", "logs-auditd.log-*"],
        "auditd",
        "Syslog",
        "Syslog",
        'sourcetype="linux:audit"',
    ),
    "linux/sshd": (
        "lnx_sshd_susp_ssh",
        ["filebeat-*", "logs-system.auth-*"],
        "system",
        "Syslog",
        "Syslog",
        'sourcetype="linux_secure"',
    ),
}


@cache
def _export(fmt: str, options: tuple[str, ...] = ()):
    return export_rules(corpus_rules(), fmt, options=options, on_error=ErrorPolicy.COLLECT)


@cache
def _sources() -> dict:
    rules = corpus_rules().collection.rules
    return {stem: rule.logsource for stem, rule in zip(output_stems(rules), rules)}


def _package(fmt: str, stem: str, options: tuple[str, ...] = ()):
    (found,) = [p for p in _export(fmt, options).packages if p.stem == stem]
    return found


@pytest.mark.parametrize("fmt", sorted(EXPORTED))
def test_every_package_passes_its_checks_and_refusals_are_one_line(fmt):
    report = _export(fmt)
    assert len(report.packages) + len(report.errors) == RULE_COUNT
    assert len(report.packages) >= EXPORTED[fmt], [str(e) for e in report.errors]
    for package in report.packages:
        CHECKS[fmt](package.text)
    for error in report.errors:
        text = str(error)
        assert "\n" not in text and error.rule_id and error.rule_id in text, text


def test_kibana_rules_carry_the_index_and_integration_of_their_logsource():
    indices = logsource_indices()
    stems = {stem for stem, *_ in SAMPLES.values()}
    seen = set()
    for package in _export("kibana-ndjson").packages:
        rule = json.loads(package.text)
        source = _sources()[package.stem]
        key = logsource_key(source)
        if rule["type"] != "esql":
            # The rule metadata's own default (linux/syslog: logs-system.syslog-*) wins.
            if (source.product, source.service) != ("linux", "syslog"):
                assert rule["index"] == list(indices[key]), package.stem
        packages = [i["package"] for i in rule["related_integrations"]]
        assert packages and set(packages) <= {"endpoint", "auditd", "system"}, package.stem
        for field in rule["required_fields"]:
            assert field["type"] != "unknown", (package.stem, field)
            assert field["name"] in rule["query"], (package.stem, field)
        if package.stem in stems:
            seen.add(package.stem)
            _, index, integration, *_ = SAMPLES[key]
            assert (rule["index"], packages) == (index, [integration])
    assert seen == stems


def test_toml_rules_name_the_integration_and_index():
    for key, (stem, index, integration, *_) in SAMPLES.items():
        data = tomllib.loads(_package("elastic-toml", stem).text)
        assert data["metadata"]["integration"] == [integration], key
        assert data["rule"]["index"] == index, key
        assert [i["package"] for i in data["rule"]["related_integrations"]] == [integration]


def test_elastic_agent_reads_only_the_data_streams():
    rule = json.loads(_package("kibana-ndjson", "lnx_auditd_audio_capture", ("elastic-agent",)).text)
    assert rule["index"] == ["logs-auditd.log-*"]
    assert 'data_stream.dataset:"auditd.log"' in rule["query"]
    assert rule["related_integrations"] == [{"package": "auditd", "version": "^3.0.0"}]


def test_required_fields_of_an_auditd_rule_are_typed_from_the_integration():
    rule = json.loads(_package("kibana-ndjson", "lnx_auditd_audio_capture").text)
    fields = {f["name"]: (f["type"], f["ecs"]) for f in rule["required_fields"]}
    assert fields["auditd.log.record_type"] == ("keyword", False)
    assert fields["process.args"] == ("keyword", True)
    assert fields["event.dataset"] == ("keyword", True)


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_sentinel_names_the_connectors_and_host_of_the_table(key):
    stem, _, _, table, xdr_type, _ = SAMPLES[key]
    (doc,) = yaml.safe_load_all(_package("sentinel", stem).text)
    assert doc["query"].split(None, 1)[0] == table
    types = {t for c in doc["requiredDataConnectors"] for t in c["dataTypes"]}
    assert "Syslog" in types  # Syslog rows, or Sysmon for Linux through the ASIM parsers
    (host,) = doc["entityMappings"][0]["fieldMappings"]
    assert host["columnName"] == ("Computer" if table == "Syslog" else "DvcHostname")
    (arm,) = [json.loads(_package("sentinel-arm", stem).text)["resources"][0]]
    assert arm["properties"]["entityMappings"] == doc["entityMappings"]
    if table != "Syslog":
        assert {"connectorId": "MicrosoftThreatProtection", "dataTypes": [xdr_type]} in doc[
            "requiredDataConnectors"
        ]
        (xdr,) = yaml.safe_load_all(_package("sentinel", stem, ("xdr",)).text)
        assert xdr["query"].split(None, 1)[0] == xdr_type
        assert xdr["requiredDataConnectors"] == [
            {"connectorId": "MicrosoftThreatProtection", "dataTypes": [xdr_type]}
        ]
        (xdr_host,) = xdr["entityMappings"][0]["fieldMappings"]
        assert xdr_host["columnName"] == "DeviceName"


@pytest.mark.parametrize("key", sorted(SAMPLES))
def test_splunk_searches_start_scoped_to_their_data(key):
    stem, *_, scope = SAMPLES[key]
    (stanza,) = parse_savedsearches(_package("splunk-savedsearches", stem).text).sections()
    search = parse_savedsearches(_package("splunk-savedsearches", stem).text)[stanza]["search"]
    assert search.startswith(scope) or scope in search.split(" ", 3)[:3], search


# The options' data sources: Elastic Agent data streams, Defender XDR tables (two network
# rules and the two OMIGOD rules refused by the xdr mapping), Sysmon for Linux in Splunk.
WITH_OPTIONS = {
    ("kibana-ndjson", "elastic-agent"): 208,
    ("sentinel-arm", "xdr"): 206,
    ("splunk-savedsearches", "sysmon"): 210,
}


@pytest.mark.parametrize(("fmt", "option"), sorted(WITH_OPTIONS))
def test_every_package_passes_its_checks_with_each_option(fmt, option):
    report = _export(fmt, (option,))
    assert len(report.packages) + len(report.errors) == RULE_COUNT
    assert len(report.packages) >= WITH_OPTIONS[fmt, option], [str(e) for e in report.errors]
    for package in report.packages:
        CHECKS[fmt](package.text)
    for error in report.errors:
        assert "\n" not in str(error) and error.rule_id, str(error)
