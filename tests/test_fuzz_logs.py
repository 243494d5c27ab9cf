"""Fuzzing every log adapter: arbitrary bytes and damaged real samples never raise, and every
line read is accounted for (events + unparsable, each with its reason, + prefilter-skipped +
blank + continuation lines). More examples: see tests/fuzzing.py."""

from __future__ import annotations

import gzip
import tempfile
from datetime import datetime
from pathlib import Path

import pytest
from fuzzing import FUZZ, mutated
from hypothesis import given
from hypothesis import strategies as st
from regen_golden import REPO

from taintsigma import TaintSigmaError, load_rules, read_events, scan_paths
from taintsigma.logs.event import Event, Location, Unparsed
from taintsigma.logs.sniff import FORMATS
from taintsigma.scan.routing import compile_for_scan
from taintsigma.scan.run import ScanOptions

NOW = datetime(2026, 12, 1)
FIXTURES = REPO / "tests" / "fixtures" / "adapters"
# Real samples of every format (tests/fixtures/adapters/<format>/) and the bundled samples.
SAMPLES = [
    path.read_bytes()
    for path in sorted([*FIXTURES.rglob("*"), *(REPO / "samples").iterdir()])
    if path.is_file() and not path.name.endswith(".expected.json")
]
# The bundled rules, the test rules and SigmaHQ's Linux rules: prefilter plans with many
# literals, keywords, regexes, correlations.
RULES = compile_for_scan(
    load_rules(
        [REPO / "sigma_rules", REPO / "tests" / "rules", REPO / "tests/corpus/sigmahq/rules/linux"],
        on_error=__import__("taintsigma").ErrorPolicy.COLLECT,
    )
)
INPUTS = st.one_of(st.binary(max_size=3000), mutated(SAMPLES))


def lines_in(data: bytes) -> int:
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def scan_bytes(data: bytes, fmt: str, *, keep_unparsed: bool, name: str = "input.log") -> None:
    """Scan ``data`` as one file and check that nothing raised and every count adds up."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        unparsed: list[Unparsed] = []
        problems: list[object] = []
        scan = scan_paths(
            [path], RULES, format=fmt, timezone="UTC", now=NOW, jobs=1,
            keep_unparsed=keep_unparsed, on_unparsed=unparsed.append,
            on_problem=problems.append,
        )  # fmt: skip
        alerts = list(scan)
    summary = scan.summary
    for alert in alerts:
        alert.to_dict()  # every alert can be written out
    if not summary.files:  # auto: not a log format, or binary: said so, nothing read
        assert fmt == "auto" and len(problems) == 1
        return
    (counts,) = summary.files
    assert counts.lines == (
        counts.skipped + counts.blank + counts.joined + counts.events + counts.unparsed
    ), counts
    # a damaged line kept as an event (Unparsed.kept) is an event, and its damage is named too
    assert len([u for u in unparsed if not u.kept]) == counts.unparsed
    assert len([u for u in unparsed if u.kept]) == counts.damaged
    for line in unparsed:
        assert line.reason and 1 <= line.origin.line <= counts.lines
    if not name.endswith(".gz") and data[:2] != b"\x1f\x8b":
        assert counts.lines == lines_in(data)
        assert problems == []


@pytest.mark.parametrize("fmt", [*FORMATS, "auto"])
@pytest.mark.parametrize("keep_unparsed", [False, True], ids=["prefilter", "every-line"])
@FUZZ
@given(data=INPUTS)
def test_any_input_is_read_to_the_end_with_every_line_counted(
    fmt: str, keep_unparsed: bool, data: bytes
) -> None:
    scan_bytes(data, fmt, keep_unparsed=keep_unparsed)


@pytest.mark.parametrize("fmt", [*FORMATS, "auto"])
@FUZZ
@given(data=mutated(SAMPLES), cut=st.floats(0.0, 1.0), flip=st.integers(0, 2**16))
def test_damaged_gzip_is_read_up_to_the_damage(
    fmt: str, data: bytes, cut: float, flip: int
) -> None:
    packed = bytearray(gzip.compress(data))
    if flip % 3 == 0 and len(packed) > 20:
        packed[10 + flip % (len(packed) - 10)] ^= 0xFF
    scan_bytes(bytes(packed[: max(2, int(len(packed) * cut))]), fmt, keep_unparsed=True,
               name="input.gz")  # fmt: skip


@pytest.mark.parametrize("fmt", FORMATS)
@FUZZ
@given(raw=st.one_of(st.binary(max_size=2000), mutated(SAMPLES)))
def test_an_adapter_turns_any_line_into_an_event_an_unparsed_or_nothing(
    fmt: str, raw: bytes
) -> None:
    adapter = ScanOptions(now=NOW).adapter(fmt)
    origin = Location(path="fuzz", line=1, offset=0)
    for line in [raw, *raw.split(b"\n")]:
        item = adapter.parse(line, origin)
        assert item is None or isinstance(item, Event | Unparsed)
        if isinstance(item, Unparsed):
            assert item.reason
        if item is None:
            assert not line.strip(b" \t\r\n\x00\x1e") or fmt in ("syslog", "dmesg")


@pytest.mark.parametrize("fmt", [*FORMATS, "auto"])
@FUZZ
@given(data=INPUTS)
def test_read_events_raises_nothing_but_input_errors(fmt: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input.log"
        path.write_bytes(data)
        try:
            items = list(read_events(path, format=fmt, timezone="UTC", now=NOW))
        except TaintSigmaError:
            return
    assert all(isinstance(item, Event | Unparsed) for item in items)
