"""What the fuzz tests share: how many examples, and byte mutations of real samples.

The suite runs a few examples per test so it stays fast; the longer mode is one command:

    TAINTSIGMA_FUZZ_EXAMPLES=2000 python -m pytest -q tests/test_fuzz_logs.py tests/test_fuzz_rules.py
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("TAINTSIGMA_FUZZ_EXAMPLES", "20"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Bytes that matter to line readers and parsers: line ends, white space that continues a line,
# NUL, JSON and YAML punctuation, a UTF-8 lead byte without its tail, the gzip magic.
NASTY = [
    b"\n", b"\r\n", b"\r", b" ", b"\t", b"\x00", b"{", b"}", b"[", b"]", b'"', b"\\", b":",
    b"- ", b"&a", b"*a", b"!!python/object", b"%", b"|", b">", b"#", b"\xc3", b"\xff",
    b"\x1f\x8b", b"\x1e", b"<13>", b"1970-01-01T00:00:00Z", b"99999999999999999999",
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn, samples: list[bytes]) -> bytes:
    """A real sample with a few random edits: cut, delete, insert, repeat, flip."""
    data = bytearray(draw(st.sampled_from(samples)))
    for _ in range(draw(st.integers(1, 6))):
        where = draw(st.integers(0, len(data)))
        kind = draw(st.sampled_from(["cut", "delete", "insert", "nasty", "repeat", "flip"]))
        if kind == "cut":
            del data[where:]
        elif kind == "delete":
            del data[where : where + draw(st.integers(1, 64))]
        elif kind == "insert":
            data[where:where] = draw(st.binary(min_size=1, max_size=32))
        elif kind == "nasty":
            data[where:where] = draw(st.sampled_from(NASTY))
        elif kind == "repeat":
            data[where:where] = data[max(0, where - 80) : where]
        elif kind == "flip" and where < len(data):
            data[where] ^= 1 << draw(st.integers(0, 7))
    return bytes(data)
