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
import shutil
import subprocess

import pytest
from flagship_events import FLAGSHIP_EVENTS, FLAGSHIP_POSITIVE, FLAGSHIP_TEXT
from flagship_events import event as _event
from helpers import make_rule
from regen_golden import GOLDEN, REPO
from sigma.backends.elasticsearch import LuceneBackend

from taintsigma import convert_rule, load_rules
from taintsigma.targets import load_target

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
}

# What each rule means on CORPUS (Sigma's semantics), by rule file stem.
EXPECTED = {
    "tainted_kernel_module_load": {"tainted"},
    "value_lists": {"sshd_web01", "sudo_build01", "sshd_build01_low_pid", "sshd_web02_high_pid"},
    "numeric_pid": {"sshd_web02_high_pid"},
    "conditions": {"sshd_web01", "kernel_segfault", "sshd_web02_high_pid", "tainted", "oom"},
    "field_exists": {"no_hostname"},
    "null_value": {"cron_no_pid"},
    "keyword_wildcards": {"logind_db"},
    "keywords": {"tainted"},
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
}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


@pytest.fixture(scope="module")
def lucene(tmp_path_factory: pytest.TempPathFactory):
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
    classes = tmp_path_factory.mktemp("lucene-classes")
    classpath = ":".join(jars)
    subprocess.run(
        [javac, "-d", str(classes), "-cp", classpath, str(SOURCE)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
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
        (work / "queries.txt").write_text("".join(q + "\n" for q in queries), encoding="utf-8")
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
    [stock] = backend.convert(copy.deepcopy(load_rules().collection))
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


@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_golden_query_agrees_with_sigma(corpus_verdicts: dict[str, set[str]], stem: str) -> None:
    assert corpus_verdicts[stem] == EXPECTED[stem]


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
