"""SigmaHQ's own Linux rules on audit records and Sysmon for Linux events, each routed by log source.

The fixtures are authored from the formats' documentation (docs/scan.md, "Audit records and
Sysmon for Linux"): ``tests/fixtures/telemetry/audit.log`` (raw audit.log records, RAW format),
``tests/fixtures/adapters/syslog/telemetry.log`` (Sysmon for Linux events and audisp-syslog
records in syslog) and ``tests/fixtures/adapters/journald/telemetry.json`` (the journal's
``_TRANSPORT=audit`` entries and a Sysmon entry). Each case names the rule, the event (by a
text only its line holds: the serial of an audit event, a Sysmon value) and whether it alerts.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from taintsigma import load_rules
from taintsigma.cli.main import cli
from taintsigma.scan.run import scan_paths

ROOT = Path(__file__).parent
SIGMAHQ = ROOT / "corpus" / "sigmahq" / "rules" / "linux"
AUDIT = ROOT / "fixtures" / "telemetry" / "audit.log"
SYSLOG = ROOT / "fixtures" / "adapters" / "syslog" / "telemetry.log"
JOURNAL = ROOT / "fixtures" / "adapters" / "journald" / "telemetry.json"
SAME = ROOT / "fixtures" / "telemetry" / "same_execution"

# (rule file under SigmaHQ's rules/linux, input, text of the event's line, alerts?)
CASES = [
    # auditd EXECVE rules
    ("auditd/execve/lnx_auditd_susp_cmds.yml", AUDIT, ":801)", True),  # chmod 777
    ("auditd/execve/lnx_auditd_susp_cmds.yml", AUDIT, ":802)", False),  # chmod 755
    ("auditd/execve/lnx_auditd_data_exfil_wget.yml", AUDIT, ":803)", True),  # --post-file=
    ("auditd/execve/lnx_auditd_data_exfil_wget.yml", AUDIT, ":804)", True),  # same, hex a1
    ("auditd/execve/lnx_auditd_data_exfil_wget.yml", AUDIT, ":805)", False),  # --post-data=
    ("auditd/execve/lnx_auditd_data_exfil_wget.yml", JOURNAL, "--post-file=", True),
    ("auditd/execve/lnx_auditd_find_cred_in_files.yml", AUDIT, ":806)", True),  # keywords
    ("auditd/execve/lnx_auditd_find_cred_in_files.yml", AUDIT, ":807)", False),  # passwd
    ("auditd/execve/lnx_auditd_hidden_files_directories.yml", AUDIT, ":808)", True),  # |re
    ("auditd/execve/lnx_auditd_hidden_files_directories.yml", AUDIT, ":809)", False),
    ("auditd/execve/lnx_auditd_chattr_immutable_removal.yml", SYSLOG, '"chattr" a1="-i"', True),
    # auditd SYSCALL rules
    ("auditd/syscall/lnx_auditd_susp_special_file_creation_via_mknod_syscall.yml", AUDIT,
     ":810)", True),  # syscall=133 is mknod on x86_64
    ("auditd/syscall/lnx_auditd_susp_special_file_creation_via_mknod_syscall.yml", AUDIT,
     ":811)", False),  # 83: mkdir
    ("auditd/syscall/lnx_auditd_web_rce.yml", AUDIT, ":812)", True),  # execve, euid 33
    ("auditd/syscall/lnx_auditd_web_rce.yml", AUDIT, ":813)", False),  # euid 1000
    ("auditd/syscall/lnx_auditd_network_service_scanning.yml", AUDIT, ":814)", True),  # 2 keys
    ("auditd/syscall/lnx_auditd_network_service_scanning.yml", AUDIT, ":815)", False),
    ("auditd/syscall/lnx_auditd_load_module_insmod.yml", AUDIT, ":816)", True),
    ("auditd/syscall/lnx_auditd_load_module_insmod.yml", AUDIT, ":817)", False),  # modprobe
    # auditd PATH and SERVICE_STOP rules; the keyword rule of product: linux searches records
    ("auditd/path/lnx_auditd_ld_so_preload_mod.yml", AUDIT, ":818)", True),
    ("auditd/path/lnx_auditd_ld_so_preload_mod.yml", AUDIT, ":819)", False),
    ("builtin/lnx_ldso_preload_injection.yml", AUDIT, ":818): item=0", True),
    ("builtin/lnx_ldso_preload_injection.yml", AUDIT, ":819)", False),
    ("builtin/lnx_ldso_preload_injection.yml", SYSLOG, "audit: type=1302", True),
    ("auditd/service_stop/lnx_auditd_disable_system_firewall.yml", AUDIT, "unit=ufw", True),
    ("auditd/service_stop/lnx_auditd_disable_system_firewall.yml", AUDIT, "unit=nginx", False),
    # process_creation, from auditd execve records and from Sysmon for Linux
    ("process_creation/proc_creation_lnx_base64_decode.yml", AUDIT, ":822)", True),  # hex exe
    ("process_creation/proc_creation_lnx_base64_decode.yml", AUDIT, ":823)", True),  # plain
    ("process_creation/proc_creation_lnx_base64_decode.yml", AUDIT, ":824)", False),  # no -d
    ("process_creation/proc_creation_lnx_chattr_immutable_removal.yml", AUDIT, ":825)", False),
    ("process_creation/proc_creation_lnx_chattr_immutable_removal.yml", SYSLOG,
     "chattr -i /etc/passwd</Data>", True),  # Sysmon EventID 1
    ("process_creation/proc_creation_lnx_chattr_immutable_removal.yml", SYSLOG,
     "chattr +i /etc/passwd</Data>", False),
    ("process_creation/proc_creation_lnx_chattr_immutable_removal.yml", SYSLOG,
     "type=SYSCALL msg=audit(1700000010.000:601)", True),  # audisp-syslog records
    # file_event and network_connection (Sysmon for Linux EventID 11 and 3)
    ("file_event/file_event_lnx_doas_conf_creation.yml", SYSLOG, "/etc/doas.conf<", True),
    ("file_event/file_event_lnx_doas_conf_creation.yml", JOURNAL, "/etc/doas.conf<", True),
    ("file_event/file_event_lnx_persistence_sudoers_files.yml", SYSLOG, "sudoers.d/backdoor", True),
    ("file_event/file_event_lnx_persistence_sudoers_files.yml", SYSLOG, "README.dpkg-new", False),
    ("network_connection/net_connection_lnx_ngrok_tunnel.yml", SYSLOG, "tunnel.us.ngrok", True),
    ("network_connection/net_connection_lnx_ngrok_tunnel.yml", SYSLOG, "203.0.113.5<", False),
    ("network_connection/net_connection_lnx_susp_malware_callback_port.yml", SYSLOG,
     "203.0.113.5<", True),
    ("network_connection/net_connection_lnx_susp_malware_callback_port.yml", SYSLOG,
     "10.0.0.5<", False),  # a local address
]


def _lines_of(path: Path, marker: str) -> set[int]:
    """The lines of the event named by ``marker`` (an audit event's records share its serial)."""
    found = {n for n, text in enumerate(path.read_text().splitlines(), 1) if marker in text}
    assert found, f"{marker!r} is in no line of {path.name}"
    return found


def _line_of(path: Path, marker: str) -> int:
    (line,) = _lines_of(path, marker)
    return line


def _alert_lines(rule: str, path: Path, prefilter: bool = True) -> set[int]:
    scan = scan_paths([path], [SIGMAHQ / rule], timezone="UTC", prefilter=prefilter)
    return {alert.origin.line for alert in scan if alert.origin is not None}


@pytest.mark.parametrize(
    ("rule", "path", "marker", "alerts"),
    CASES,
    ids=[f"{Path(r).stem}-{p.name}-{m.strip(':)<')}" for r, p, m, _ in CASES],
)
@pytest.mark.parametrize("prefilter", [True, False], ids=["prefilter", "every-line"])
def test_sigmahq_rule_on_telemetry(
    rule: str, path: Path, marker: str, alerts: bool, prefilter: bool
) -> None:
    lines = _lines_of(path, marker)
    assert bool(lines & _alert_lines(rule, path, prefilter)) is alerts


def test_ten_rules_over_every_kind() -> None:
    fired = {rule for rule, _, _, alerts in CASES if alerts}
    assert len(fired) >= 10
    kinds = {rule.split("/")[1] if rule.startswith("auditd/") else rule.split("/")[0]
             for rule in fired}  # fmt: skip
    assert {"execve", "syscall", "process_creation", "file_event", "network_connection"} <= kinds


def test_hex_encoded_values_match_as_their_plain_form(tmp_path: Path) -> None:
    # auditd hex-encodes a value holding a space (exe) and may do so for any argument (a1).
    hexed = (
        "type=SYSCALL msg=audit(1700000000.000:1): arch=c000003e syscall=59 success=yes exit=0 "
        "a0=1 a1=2 a2=3 a3=0 items=1 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 "
        'egid=0 sgid=0 fsgid=0 tty=pts0 ses=1 comm="base64" '
        "exe=2F6F70742F6D7920746F6F6C732F626173653634 key=(null)\n"
        'type=EXECVE msg=audit(1700000000.000:1): argc=3 a0="base64" a1=2D64 a2="/tmp/p"\n'
    )
    plain = hexed.replace(
        "exe=2F6F70742F6D7920746F6F6C732F626173653634", 'exe="/opt/my tools/base64"'
    ).replace("a1=2D64", 'a1="-d"')
    assert plain != hexed
    rules = [
        SIGMAHQ / "process_creation" / "proc_creation_lnx_base64_decode.yml",
        SIGMAHQ / "auditd" / "syscall" / "lnx_auditd_susp_exe_folders.yml",
        SIGMAHQ / "auditd" / "execve" / "lnx_auditd_data_compressed.yml",
    ]
    verdicts = []
    for name, text in (("hex.log", hexed), ("plain.log", plain)):
        (tmp_path / name).write_text(text)
        alerts = list(scan_paths([tmp_path / name], rules))
        verdicts.append([(a.rule.id, dict(a.event.fields)) for a in alerts])
    assert verdicts[0] == verdicts[1]
    assert [rule for rule, _ in verdicts[0]] == ["e2072cab-8c9a-459b-b63c-40ae79e27031"]
    assert verdicts[0][0][1]["Image"] == "/opt/my tools/base64"


def test_the_same_execution_raises_the_same_process_creation_alerts() -> None:
    rules = load_rules([SIGMAHQ / "process_creation"])
    seen = []
    for name in ("audit.log", "sysmon.log"):
        alerts = list(scan_paths([SAME / name], rules, timezone="UTC"))
        seen.append(sorted((a.event.fields["ProcessId"], a.rule.id) for a in alerts))
    assert seen[0] == seen[1]
    pids = {pid for pid, _ in seen[0]}
    assert pids == {"4301", "4302", "4303", "4304", "4305"}  # every execution alerted


def test_process_creation_from_audit_records_names_the_parent() -> None:
    scan = scan_paths([SAME / "audit.log"], [SIGMAHQ / "process_creation"], timezone="UTC")
    alert = next(a for a in scan if a.event.fields["ProcessId"] == "4301")
    fields = alert.event.fields
    assert fields["Image"] == "/usr/bin/chattr"
    assert fields["CommandLine"] == "chattr -i /etc/passwd"
    assert fields["CurrentDirectory"] == "/root"
    assert fields["ParentImage"] == "/usr/bin/bash"
    assert fields["ParentCommandLine"] == "-bash"
    assert alert.event.logsource.category == "process_creation"


def test_auto_recognises_audit_logs_gzipped_and_in_folders(tmp_path: Path) -> None:
    import gzip

    folder = tmp_path / "var" / "log" / "audit"
    folder.mkdir(parents=True)
    (folder / "audit.log.1.gz").write_bytes(gzip.compress(AUDIT.read_bytes()))
    rules = [SIGMAHQ / "auditd" / "path" / "lnx_auditd_ld_so_preload_mod.yml"]
    scan = scan_paths([tmp_path], rules)
    alerts = list(scan)
    assert [a.origin.line for a in alerts] == [_line_of(AUDIT, ":818): item=0")]
    assert [f.format for f in scan.summary.files] == ["auditd"]


def test_broken_records_are_counted_and_named() -> None:
    result = CliRunner().invoke(
        cli,
        ["scan", str(ROOT / "fixtures" / "adapters" / "auditd" / "audit.log"),
         str(SYSLOG), "-r", str(SIGMAHQ / "auditd"), "--json"],
        obj={},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    summary = result.stderr
    assert "1 unparsable" in summary
    assert "3 damaged but kept" in summary
    assert "not an audit record (no type=… msg=audit(…))" in summary
    assert "value of a1 neither quoted nor hex-encoded (kept as written)" in summary
    assert "Sysmon event with an XML declaration (<!DOCTYPE/<!ENTITY): refused" in summary
    assert "invalid Sysmon XML" in summary


def test_records_routed_only_to_their_rules() -> None:
    # A process_creation rule never sees an audit record, an auditd rule never a Sysmon event.
    scan = scan_paths([AUDIT, SYSLOG], [SIGMAHQ / "auditd", SIGMAHQ / "process_creation"])
    for alert in scan:
        source = alert.event.logsource
        if "type" in alert.event.fields:
            assert source.service == "auditd"
        else:
            assert source.category == "process_creation"


def test_scan_help_lists_the_new_formats() -> None:
    result = CliRunner().invoke(cli, ["scan", "--help"], obj={})
    assert "auditd" in result.output
    assert "Sysmon" in result.output


def test_prefilter_finds_literals_inside_hex_encoded_values(tmp_path: Path) -> None:
    # The raw line holds only hex: the prefilter searches each literal's hex form too (either
    # case; a space also as the NUL between proctitle's arguments).
    def hexed(text: str) -> str:
        return text.encode().hex().upper()

    log = tmp_path / "audit.log"
    log.write_text(
        "type=PATH msg=audit(1700000000.000:1): item=0 name="
        + hexed("/home/bob smith/.bashrc") + " inode=1 dev=08:01 mode=0100644 ouid=0 ogid=0 "
        "rdev=00:00 nametype=NORMAL\n"
        "type=PROCTITLE msg=audit(1700000000.000:2): proctitle="
        + hexed("RSYNC\x00-a\x00/srv/\x00backup@203.0.113.5:/srv/") + "\n"
        "type=PROCTITLE msg=audit(1700000000.000:3): proctitle="
        + hexed("ls\x00-la\x00/srv/") + "\n"
    )  # fmt: skip
    rules = [
        SIGMAHQ / "auditd" / "path" / "lnx_auditd_unix_shell_configuration_modification.yml",
        SIGMAHQ / "builtin" / "lnx_file_copy.yml",
    ]
    found = {}
    for prefilter in (True, False):
        scan = scan_paths([log], rules, prefilter=prefilter)
        found[prefilter] = sorted((a.origin.line, a.rule.name) for a in scan)
        if prefilter:
            assert scan.summary.skipped == 1  # the ls line
    assert found[True] == found[False]
    assert [line for line, _ in found[True]] == [1, 2]


def test_ausearch_outputs(tmp_path: Path) -> None:
    # ausearch's default output separates events with ---- and time-> lines around raw
    # records; --raw prints the records alone; -i (interpreted) cannot be split into fields.
    default = tmp_path / "ausearch.txt"
    default.write_text(
        "----\ntime->Tue Nov 14 22:13:20 2023\n"
        'type=PATH msg=audit(1700000000.100:7): item=0 name="/etc/ld.so.preload" inode=5 '
        "dev=08:01 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=CREATE\n"
    )
    interpreted = tmp_path / "ausearch-i.txt"
    interpreted.write_text(
        "----\ntype=PATH msg=audit(11/14/2023 22:13:20.100:7) : item=0 name=/etc/ld.so.preload "
        "inode=5 dev=08:01 mode=file,644 ouid=root ogid=root rdev=00:00 nametype=CREATE\n"
    )
    rules = [SIGMAHQ / "auditd" / "path" / "lnx_auditd_ld_so_preload_mod.yml"]
    scan = scan_paths([default], rules)
    assert [a.origin.line for a in scan] == [3]
    assert (scan.summary.events, scan.summary.unparsed) == (1, 0)
    scan = scan_paths([interpreted], rules)
    assert list(scan) == []
    assert scan.summary.reasons == {
        "interpreted record (ausearch -i): read ausearch --raw output instead": 1
    }


def test_keep_unparsed_writes_only_lines_that_are_no_event(tmp_path: Path) -> None:
    kept = tmp_path / "unparsed.txt"
    result = CliRunner().invoke(
        cli,
        ["scan", str(ROOT / "fixtures" / "adapters" / "auditd" / "audit.log"),
         "--keep-unparsed", str(kept), "-r", str(SIGMAHQ / "auditd"), "--json"],
        obj={},
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    # the damaged EXECVE record (a1 neither quoted nor hex) is an event; only this line is not
    assert kept.read_text() == "type=EXECVE audit record cut short by a full disk\n"
