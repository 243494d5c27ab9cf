"""SigmaHQ Linux rules' EQL queries in Elastic's own eql engine, over documents shaped as the
integrations the mappings target index them (Elastic Defend, Auditd Logs, the System
integration): the positive documents match, the near misses do not."""

from __future__ import annotations

import pytest

from tests.linux_corpus import CORPUS, corpus_report

eql = pytest.importorskip("eql", reason="Elastic's eql engine is not installed (test extra)")

LINUX = {"host": {"os": {"type": "linux"}}}
EXEC = {**LINUX, "event": {"category": "process", "type": "start", "action": "exec"}}


def _doc(base: dict, **fields: object) -> dict:
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in base.items()}
    for dotted, value in fields.items():
        node = doc
        *parents, leaf = dotted.split("__")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


def _base64(**fields):
    return _doc(EXEC, process__executable="/usr/bin/base64", **fields)


CASES = {
    "proc_creation_lnx_base64_decode": (
        [_base64(process__command_line="base64 -d /tmp/payload")],
        [
            _base64(process__command_line="base64 /tmp/payload"),
            _doc(EXEC, process__executable="/usr/bin/cat", process__command_line="cat -d"),
            _base64(process__command_line="base64 -d x", host={"os": {"type": "windows"}}),
        ],
    ),
    "file_event_lnx_doas_conf_creation": (
        [_doc(LINUX, event={"category": "file", "type": "creation"}, file__path="/etc/doas.conf")],
        [
            _doc(
                LINUX, event={"category": "file", "type": "deletion"}, file__path="/etc/doas.conf"
            ),
            _doc(LINUX, event={"category": "file", "type": "creation"}, file__path="/etc/sudoers"),
        ],
    ),
    "net_connection_lnx_susp_malware_callback_port": (
        [
            _doc(
                LINUX,
                event={"category": "network", "type": "start"},
                network__direction="egress",
                destination__port=4444,
                destination__ip="203.0.113.7",
            ),
        ],
        [
            _doc(
                LINUX,
                event={"category": "network", "type": "start"},
                network__direction="egress",
                destination__port=4444,
                destination__ip="10.1.2.3",
            ),
            _doc(
                LINUX,
                event={"category": "network", "type": "start"},
                network__direction="ingress",
                destination__port=4444,
                destination__ip="203.0.113.7",
            ),
        ],
    ),
    # An EXECVE record's arguments are the list process.args, which Elasticsearch's EQL
    # matches element by element (its filters run as queries over indexed terms) while the
    # Python engine compares whole values; so only the SYSCALL branch is run here.
    "lnx_auditd_audio_capture": (
        [
            _doc(
                LINUX,
                event={"dataset": "auditd.log"},
                auditd={"log": {"record_type": "SYSCALL", "SYSCALL": "memfd_create"}},
                process__executable="/usr/bin/ecasound",
            ),
        ],
        [
            _doc(
                LINUX,
                event={"dataset": "auditd.log"},
                auditd={"log": {"record_type": "SYSCALL", "SYSCALL": "memfd_create"}},
                process__executable="/usr/bin/firefox",
            ),
            _doc(
                LINUX,
                event={"dataset": "system.syslog"},
                auditd={"log": {"record_type": "SYSCALL", "SYSCALL": "memfd_create"}},
                process__executable="/usr/bin/ecasound",
            ),
        ],
    ),
    # A keyword no phrase can express on the analysed message: a whole-value like~.
    "lnx_shellshock": (
        [_doc(LINUX, message='env x="() { :;}; echo vulnerable" bash -c id')],
        [
            _doc(LINUX, message='env x="() { : ; } ;" bash -c id'),
            _doc({"host": {"os": {"type": "windows"}}}, message="() { :;}; echo"),
        ],
    ),
    "lnx_sshd_susp_ssh": (
        [
            _doc(
                LINUX,
                event={"dataset": "system.auth"},
                process__name="sshd",
                message="error: Corrupted MAC on input. [preauth]",
            ),
        ],
        [
            _doc(
                LINUX,
                event={"dataset": "system.auth"},
                process__name="sudo",
                message="error: Corrupted MAC on input. [preauth]",
            ),
            _doc(
                LINUX,
                event={"dataset": "system.syslog"},
                process__name="sshd",
                message="error: Corrupted MAC on input. [preauth]",
            ),
        ],
    ),
}


@pytest.mark.parametrize("stem", sorted(CASES))
def test_eql_query_in_elastics_engine(stem: str) -> None:
    assert list(CORPUS.rglob(f"{stem}.yml")), stem
    [conversion] = [c for c in corpus_report("eql").conversions if c.stem == stem]
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        query = eql.parse_query(conversion.query)
    positives, negatives = CASES[stem]
    verdicts = []
    for doc in positives + negatives:
        hits: list[int] = []
        engine = eql.PythonEngine()
        engine.add_query(query)
        engine.add_output_hook(lambda _event, hits=hits: hits.append(1))
        engine.stream_events([eql.Event("any", 0, doc)])
        verdicts.append(bool(hits))
    assert verdicts == [True] * len(positives) + [False] * len(negatives), conversion.query


def _parse(text: str):
    with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
        return eql.parse_query(text)


def test_every_eql_query_parses_in_elastics_parser() -> None:
    from regen_golden import GOLDEN

    queries = {c.stem: c.query for c in corpus_report("eql").conversions}
    queries |= {p.name: p.read_text(encoding="utf-8") for p in (GOLDEN / "eql").glob("*.eql")}
    failed = {}
    for name, text in queries.items():
        try:
            _parse(text)
        except eql.EqlError as err:
            failed[name] = str(err).splitlines()[1:2]
    assert not failed, failed
