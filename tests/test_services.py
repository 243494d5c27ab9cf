"""Syslog-borne services (sshd, cron, …): one mapping, used to convert and to scan.

A ``service: sshd`` rule converts to the system integration's ``system.auth`` dataset with
``process.name: sshd`` (Splunk: sourcetype=linux_secure, Sentinel: ProcessName), and the
native scan alerts on sshd's syslog lines only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from helpers import make_rule

from taintsigma.convert.conversion import convert_rule
from taintsigma.convert.mappings import field_mappings
from taintsigma.scan.run import scan_paths

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SSHD = {"product": "linux", "service": "sshd"}


def _sshd_rule():
    return make_rule(
        {"selection": {"message|contains": "Corrupted MAC on input"}},
        logsource=SSHD, rule_id="00000000-0000-4000-8000-0000000000c1",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("kibana-kql", (
            'host.os.type:linux and event.dataset:"system.auth" and process.name:sshd '
            'and message:"Corrupted MAC on input"'
        )),
        ("esql", (
            'from filebeat-*,logs-system.auth-* metadata _id, _index, _version | where '
            'host.os.type=="linux" and event.dataset=="system.auth" and '
            'process.name=="sshd" and match_phrase(message, "Corrupted MAC on input")'
        )),
        ("splunk", 'sourcetype="linux_secure" process="sshd" ("Corrupted MAC on input" _raw="*Corrupted MAC on input*")'),
        ("sentinel", (
            'Syslog\n| where ProcessName =~ "sshd" and SyslogMessage contains '
            '"Corrupted MAC on input"'
        )),
    ],
)  # fmt: skip
def test_sshd_rule_converts_to_the_auth_dataset(target: str, expected: str) -> None:
    assert convert_rule(_sshd_rule(), target) == expected


def test_elastic_agent_option_reads_the_auth_data_stream() -> None:
    query = convert_rule(_sshd_rule(), "esql", options=("elastic-agent",))
    assert query.startswith("from logs-system.auth-* ")
    assert 'data_stream.dataset=="system.auth"' in query


def test_sshd_rule_alerts_on_sshd_lines_only(tmp_path: Path) -> None:
    log = tmp_path / "syslog"
    log.write_text(
        "Nov 26 04:10:16 web1 sshd[42]: Corrupted MAC on input. [preauth]\n"
        "Nov 26 04:10:17 web1 myapp[43]: Corrupted MAC on input\n"
    )
    for prefilter in (True, False):
        alerts = scan_paths([log], [_sshd_rule()], timezone="UTC", now=NOW, prefilter=prefilter)
        assert [a.origin.line for a in alerts] == [1]


def test_cron_rule_matches_each_spelling_of_its_program(tmp_path: Path) -> None:
    rule = make_rule(
        {"keywords": ["REPLACE"]}, "keywords", logsource={"product": "linux", "service": "cron"}
    )
    log = tmp_path / "syslog"
    log.write_text(
        "Nov 26 04:10:16 web1 CRON[1]: (root) REPLACE (root)\n"
        "Nov 26 04:10:17 web1 crond[2]: (root) REPLACE (root)\n"
        "Nov 26 04:10:18 web1 sshd[3]: (root) REPLACE (root)\n"
    )
    alerts = scan_paths([log], [rule], timezone="UTC", now=NOW)
    assert [a.origin.line for a in alerts] == [1, 2]


def test_the_mapping_reads_back_per_logsource() -> None:
    kql = field_mappings("kibana-kql")
    assert kql["linux/sshd"]["program"] == ("process.name",)
    assert kql["linux/process_creation"]["CommandLine"] == ("process.command_line",)
    assert kql["linux/auditd"]["exe"] == ("process.executable",)
    assert field_mappings("splunk")["linux/file_event"]["TargetFilename"] == ("file_path",)
    assert field_mappings("sentinel")["linux/network_connection"]["DestinationPort"] == (
        "DstPortNumber",
    )


def test_the_mapping_reads_the_other_way_round() -> None:
    from taintsigma.convert.mappings import reverse_field_mappings

    back = reverse_field_mappings("kibana-kql")
    assert back["linux/sshd"]["process.name"] == ("program",)
    assert back["linux/auditd"]["process.args"] == tuple(f"a{i}" for i in range(10))


def test_indices_and_tables_per_logsource() -> None:
    from taintsigma.convert.mappings import logsource_indices, logsource_tables

    assert logsource_indices()["linux/sshd"] == ("filebeat-*", "logs-system.auth-*")
    assert logsource_indices(("elastic-agent",))["linux/auditd"] == ("logs-auditd.log-*",)
    assert logsource_indices()["linux/syslog"] == ("filebeat-*", "logs-system.syslog-*")
    tables = logsource_tables()
    assert tables["linux/process_creation"] == "imProcessCreate"
    assert tables["linux/syslog"] == tables["linux/auditd"] == "Syslog"
