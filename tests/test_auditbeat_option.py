"""``-O auditbeat``: the Elastic targets' process_creation rules on Auditbeat's and Auditd
Manager's executions (backends/_common/ecs_process_auditbeat.yml), converted, exported, listed,
and read back by the scan with the same mapping (docs/taxonomy.md, "Auditbeat and Auditd
Manager")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sigma.rule import SigmaDetection

from taintsigma import convert_rules, export_rules, load_rules
from taintsigma.cli.main import cli
from taintsigma.convert.mappings import (
    field_mappings,
    logsource_conditions,
    logsource_indices,
    reverse_field_mappings,
)
from taintsigma.errors import ErrorPolicy, UnsupportedByTarget
from taintsigma.logs.ecs_ndjson import classify
from taintsigma.logs.event import LogSourceKey
from taintsigma.scan.routing import sigma_fields, source_options
from taintsigma.scan.run import scan_paths
from tests.linux_corpus import RULE_COUNT, corpus_report

ROOT = Path(__file__).parent
PROCESS = ROOT / "corpus" / "sigmahq" / "rules" / "linux" / "process_creation"
BASE64 = PROCESS / "proc_creation_lnx_base64_decode.yml"
OMIGOD = PROCESS / "proc_creation_lnx_omigod_scx_runasprovider_executescript.yml"
OPTION = ("auditbeat",)
ELASTIC = ("kibana-kql", "lucene", "eql", "esql")
SOURCE = LogSourceKey(product="linux", category="process_creation")

# Rules each Elastic target converts with -O auditbeat (of 210; docs/taxonomy.md's table). Of
# the default's, the 11 process_creation rules on ParentImage / ParentCommandLine are refused
# (Auditbeat records only the parent's pid) and the 2 on LogonId convert (the auid).
CONVERTED = {"kibana-kql": 191, "lucene": 195, "eql": 199, "esql": 199}



@pytest.mark.parametrize("target", ELASTIC)
def test_corpus_conversion_count_with_the_option(target: str) -> None:
    report = corpus_report(target, OPTION)
    assert len(report.conversions) + len(report.errors) == RULE_COUNT
    assert len(report.conversions) >= CONVERTED[target], [str(e) for e in report.errors]
    # The default's count, less the parent-field rules, plus the LogonId rules.
    assert len(report.conversions) == len(corpus_report(target).conversions) - 11 + 2
    default = {str(e).replace("process.command_line", "process.title")
               for e in corpus_report(target).errors}  # fmt: skip
    for error in report.errors:
        assert isinstance(error, UnsupportedByTarget), str(error)
        text = str(error)
        assert "\n" not in text and error.rule_id and f"'{target}'" in text, text
        if text not in default:  # what the option adds: the parent fields, named
            assert re.search(r"'Parent(Image|CommandLine)'.* of logsource "
                             r"linux/process_creation ha(s|ve) no mapping", text), text  # fmt: skip
    for conversion in report.conversions:
        if "/process_creation/" in str(conversion.rule.source.path):
            assert re.search(r"event\.action\W+executed", conversion.query)
            assert not re.search(r"event\.action\W+exec\b", conversion.query)
            assert "process.command_line" not in conversion.query
            assert not re.search(r"\b(Image|CommandLine|LogonId|User)\b", conversion.query)


def test_base64_rule_in_every_elastic_target() -> None:
    queries = {
        t: convert_rules(load_rules([BASE64]), t, options=OPTION).conversions[0].query
        for t in ELASTIC
    }
    assert queries == {
        "kibana-kql": "event.category:process and event.type:start and event.action:executed "
        "and process.executable:*/base64 and process.title:*-d*",
        "lucene": r"(event.category:process AND event.type:start AND event.action:executed) "
        r"AND (process.executable:*\/base64 AND process.title:*\-d*)",
        "eql": 'any where (event.category:"process" and event.type:"start" and '
        'event.action:"executed") and (process.executable:"*/base64" and process.title:"*-d*")',
        "esql": "from auditbeat-*,logs-auditd_manager.auditd-* metadata _id, _index, _version "
        '| where event.category=="process" and event.type=="start" and '
        'event.action=="executed" and ends_with(process.executable, "/base64") and '
        'process.title like "*-d*"',
    }


def test_the_command_line_warning_says_the_query_may_miss() -> None:
    (conversion,) = convert_rules(load_rules([BASE64]), "eql", options=OPTION).conversions
    (warning,) = conversion.warnings
    assert "field 'process.title'" in warning and "128 bytes" in warning
    assert warning.endswith("may miss events the rule matches")
    # The default (Elastic Defend's process.command_line) has no such caveat.
    assert not convert_rules(load_rules([BASE64]), "eql").conversions[0].warnings


def test_logon_id_is_the_auid_compared_as_a_string() -> None:
    queries = {
        t: convert_rules(load_rules([OMIGOD]), t, options=OPTION).conversions[0].query
        for t in ("kibana-kql", "eql", "esql")
    }
    assert '(user.audit.id:"0" or auditd.user.audit.id:"0")' in queries["kibana-kql"]
    assert '(user.audit.id:"0" or auditd.user.audit.id:"0")' in queries["eql"]
    assert '(user.audit.id=="0" or auditd.user.audit.id=="0")' in queries["esql"]
    with pytest.raises(UnsupportedByTarget, match="'LogonId' of logsource linux/process_creation"):
        convert_rules(load_rules([OMIGOD]), "eql")  # Elastic Defend has no auid


def test_other_categories_keep_elastic_defend() -> None:
    for key in ("linux/file_event", "linux/network_connection", "linux/auditd", "linux/sshd"):
        assert field_mappings("lucene", OPTION)[key] == field_mappings("lucene")[key]
    indices = logsource_indices(OPTION)
    assert indices["linux/process_creation"] == ("auditbeat-*", "logs-auditd_manager.auditd-*")
    assert indices["linux/file_event"] == ("logs-endpoint.events.file-*",)
    assert logsource_indices(("auditbeat", "elastic-agent"))["linux/process_creation"] == (
        "auditbeat-*", "logs-auditd_manager.auditd-*")  # fmt: skip


@pytest.mark.parametrize("fmt", ["kibana-ndjson", "elastic-toml"])
def test_export_with_the_option_reads_the_auditbeat_indices(fmt: str) -> None:
    report = export_rules(load_rules([BASE64]), fmt, options=OPTION)
    (package,) = report.packages
    text = package.text
    if fmt == "kibana-ndjson":
        rule = json.loads(text)
        assert rule["index"] == ["auditbeat-*", "logs-auditd_manager.auditd-*"]
        assert "event.action:executed" in rule["query"]
        assert {"package": "auditd_manager", "version": "^1.0.0"} in rule["related_integrations"]
    else:
        assert 'index = ["auditbeat-*", "logs-auditd_manager.auditd-*"]' in text
        assert "event.action:executed" in text
    assert any("process.title" in w for w in package.warnings)


def test_cli_lists_and_applies_the_option() -> None:
    runner = CliRunner()
    listed = runner.invoke(cli, ["targets"], obj={})
    assert listed.exit_code == 0
    blocks = re.split(r"\n(?=\S)", listed.output.split("\nexport formats")[0])
    for target in ELASTIC:
        (block,) = [b for b in blocks if b.startswith(target + " ")]
        assert "-O auditbeat: process_creation rules search the executions" in block
    for other in ("splunk", "sentinel"):
        (block,) = [b for b in blocks if b.startswith(other + " ")]
        assert "auditbeat" not in block
    result = runner.invoke(cli, ["convert", str(BASE64), "-t", "esql", "-O", "auditbeat"], obj={})
    assert result.exit_code == 0
    assert result.stdout.startswith("from auditbeat-*,logs-auditd_manager.auditd-* ")
    assert "taintsigma: warning: rule e2072cab" in result.stderr
    refused = runner.invoke(cli, ["convert", str(BASE64), "-t", "splunk", "-O", "auditbeat"],
                            obj={})  # fmt: skip
    assert refused.exit_code == 2
    assert "target 'splunk' has no option 'auditbeat'" in refused.stderr


def test_convert_and_export_help_name_every_target_option() -> None:
    from taintsigma.cli.common import OPTION_HELP
    from taintsigma.convert.targets import load_targets

    named = set(re.findall(r"([a-z][a-z-]+) \(", OPTION_HELP.split(":", 1)[1]))
    named |= set(re.findall(r"([a-z][a-z-]+),", OPTION_HELP.split(":", 1)[1]))
    assert named == {name for target in load_targets(None) for name in target.options}
    for command in ("convert", "export"):
        result = CliRunner().invoke(cli, [command, "--help"], obj={})
        assert "auditbeat (Elastic" in " ".join(result.output.split())


# ---- the scan reads Auditbeat's documents with the same mapping -------------------------------


def _fields(detections, applied: str | None = None) -> set[str]:
    found: set[str] = set()

    def walk(detection) -> None:
        for item in detection.detection_items:
            if isinstance(item, SigmaDetection):
                walk(item)
            elif item.field is not None and (
                applied is None or applied in item.applied_processing_items
            ):
                found.add(item.field)

    for detection in detections.values():
        walk(detection)
    return found


def test_converted_rules_fields_map_back_to_sigma_with_the_option() -> None:
    back = reverse_field_mappings("kibana-kql", OPTION)["linux/process_creation"]
    report = convert_rules(
        load_rules([PROCESS]), "kibana-kql", options=OPTION, on_error=ErrorPolicy.COLLECT
    )
    assert len(report.conversions) >= 90
    for conversion in report.conversions:
        (original,) = list(load_rules([conversion.rule.source.path]))
        wanted = _fields(original.detection.detections)
        mapped = _fields(conversion.rule.detection.detections, "taintsigma_ecs_process_fields")
        assert mapped and all(name in conversion.query for name in mapped)
        assert {sigma for name in mapped for sigma in back[name]} >= wanted, conversion.rule_id


def test_an_auditbeat_document_reads_back_every_field_of_the_option() -> None:
    # A document holding each target field of the option's mapping and its query's conditions:
    # read back, each Sigma field with its value (both auid fields give LogonId).
    forward = field_mappings("kibana-kql", OPTION)["linux/process_creation"]
    document: dict[str, object] = dict(
        logsource_conditions("kibana-kql", OPTION)["linux/process_creation"]
    )
    expected: dict[str, object] = {}
    for sigma, names in forward.items():
        document[names[-1]] = expected[sigma] = f"value of {sigma}"
    assert classify(document) == SOURCE
    assert source_options(document, "linux/process_creation") == OPTION
    fields = sigma_fields(document, SOURCE)
    assert {name: fields[name] for name in expected} == expected


def test_defend_and_auditbeat_documents_each_read_with_their_mapping() -> None:
    defend = {"event": {"category": ["process"], "type": ["start"], "action": "exec"},
              "host": {"os": {"type": "linux"}},
              "process": {"command_line": "id -u", "title": "ignored", "args": ["id", "-u"]}}
    auditbeat = {"event": {"category": ["process"], "type": ["start"], "action": "executed"},
                 "process": {"title": "bash -c id", "args": ["bash", "-c", "id"]},
                 "user": {"audit": {"id": "1000"}}}  # fmt: skip
    assert source_options(defend, "linux/process_creation") == ()
    assert sigma_fields(defend, SOURCE)["CommandLine"] == "id -u"
    assert "LogonId" not in sigma_fields(defend, SOURCE)
    read = sigma_fields(auditbeat, SOURCE)
    assert read["CommandLine"] == "bash -c id" and read["LogonId"] == "1000"
    del auditbeat["process"]["title"]  # no PROCTITLE record: the arguments, joined
    assert sigma_fields(auditbeat, SOURCE)["CommandLine"] == "bash -c id"


def test_the_logon_id_rule_alerts_on_auditd_manager_executions(tmp_path: Path) -> None:
    def document(auid: str) -> str:
        return json.dumps({
            "@timestamp": "2023-11-14T23:00:00.000Z", "data_stream.dataset":
            "auditd_manager.auditd", "event.category": ["process"], "event.type": ["start"],
            "event.action": "executed", "host.os.type": "linux", "user.name": "root",
            "auditd.user.audit.id": auid, "process.working_directory":
            "/var/opt/microsoft/scx/tmp", "process.executable": "/bin/sh",
            "process.title": "/bin/sh /etc/opt/microsoft/scx/conf/tmpdir/scx-1",
            "process.args": ["/bin/sh", "/etc/opt/microsoft/scx/conf/tmpdir/scx-1"],
        })  # fmt: skip
    events = tmp_path / "auditd_manager.ndjson"
    events.write_text(document("0") + "\n" + document("1000") + "\n")
    alerts = list(scan_paths([events], [OMIGOD]))
    assert [a.origin.line for a in alerts] == [1]


def test_option_queries_pass_the_eql_parser_and_the_esql_checker() -> None:
    from esql_lexer import check_esql

    esql = [c.query for c in corpus_report("esql", OPTION).conversions]
    assert {q: p for q in esql if (p := check_esql(q))} == {}
    eql = pytest.importorskip("eql", reason="Elastic's eql engine is not installed (test extra)")
    for conversion in corpus_report("eql", OPTION).conversions:
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
            eql.parse_query(conversion.query)


def test_elastics_eql_engine_and_the_scan_agree_on_auditbeat_executions(tmp_path: Path) -> None:
    # Every SigmaHQ process_creation rule with -O auditbeat, run by Elastic's eql engine on
    # Auditbeat and Auditd Manager executions, alerts on exactly the documents the native scan
    # (reading them back with the same mapping) alerts on: the two directions agree.
    pytest.importorskip("eql", reason="Elastic's eql engine is not installed (test extra)")
    from differential import eql_verdict

    fixture = ROOT / "fixtures" / "telemetry" / "ecs_telemetry.ndjson"
    lines = fixture.read_text(encoding="utf-8").splitlines()[3:6]  # Auditbeat, Auditd Manager
    base = {"event.category": ["process"], "event.type": ["start"], "event.action": "executed"}
    more = [  # upper case, an auid, a parent pid: Sigma ignores case, so must both sides
        {**base, "process.executable": "/usr/bin/base64", "process.title": "base64 -D /tmp/x",
         "process.args": ["base64", "-D", "/tmp/x"], "process.pid": 7, "process.parent.pid": 1},
        {**base, "process.executable": "/bin/sh", "user.name": "root", "user.audit.id": "0",
         "process.working_directory": "/var/opt/microsoft/scx/tmp",
         "process.title": "sh -c /etc/opt/microsoft/scx/conf/tmpdir/scx1 /bin/sh"},
        {**base, "process.executable": "/usr/bin/wget", "process.title": "WGET http://x/y.sh"},
    ]  # fmt: skip
    documents = [json.loads(line) for line in lines] + more
    events = tmp_path / "executions.ndjson"
    events.write_text("".join(json.dumps(d) + "\n" for d in documents), encoding="utf-8")
    native = {(a.rule.id, a.origin.line) for a in scan_paths([events], [PROCESS])}
    engine = {
        (conversion.rule_id, number)
        for conversion in corpus_report("eql", OPTION).conversions
        if "/process_creation/" in str(conversion.rule.source.path)
        for number, document in enumerate(documents, start=1)
        if eql_verdict(conversion.query, _scalars(document))
    }
    assert engine == native
    lines_hit = {line for _, line in native}
    assert {1, 2, 4, 5} <= lines_hit and 3 not in lines_hit  # 3: auditctl -l, a near miss


def _scalars(document: dict) -> dict:
    """One-element lists as their element: Elasticsearch matches a term on an array when any
    element matches; the Python eql engine compares the whole list."""
    def one(value):
        if isinstance(value, dict):
            return {k: one(v) for k, v in value.items()}
        return value[0] if isinstance(value, list) and len(value) == 1 else value

    return one(document)
