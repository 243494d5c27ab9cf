"""Property tests: generated rules and events around their values, three engines, one verdict.

Rules are drawn from the constructs both reference engines can run (field values with
wildcards, contains/startswith/endswith, lists, ``all``, cased, numeric comparisons, neq,
and/or/not, ``1 of``/``all of``; regexes for SQLite); events from the rules' own literals,
re-cased, cut and padded. Events hold every field the rule names: a missing field is null in SQL and EQL, where
``not`` of a null comparison is not true (docs/evaluator.md, known differences).
"""

from __future__ import annotations

from typing import Any

from differential import (
    Unsupported,
    eql_query,
    eql_verdict,
    require,
    sqlite_query,
    sqlite_verdict,
)
from helpers import make_rule
from hypothesis import HealthCheck, given, settings
from hypothesis import event as event_note
from hypothesis import strategies as st

from taintsigma.evaluate import compile_rules

FIELDS = ["fa", "fb", "fc"]
# Letters of both cases and SQL/EQL specials ('%', '_', quotes); ASCII only, as SQLite's
# NOCASE folds ASCII only. No '\\', '*' or '?' inside literals: the eql target writes such values
# with functions or refuses them (tests/test_literals.py covers them).
ALPHABET = "abcAB -._%'\""
literals = st.text(alphabet=ALPHABET, min_size=1, max_size=6)
MODIFIERS = ["", "|contains", "|startswith", "|endswith", "|contains|all", "|neq", "|contains|neq"]
CASED = ["|cased", "|contains|cased"]


@st.composite
def patterns(draw: st.DrawFn) -> str:
    """A literal, maybe with '*' wildcards inside or around it."""
    parts = draw(st.lists(literals, min_size=1, max_size=3))
    text = "*".join(parts)
    if draw(st.booleans()):
        text = "*" + text
    if draw(st.booleans()):
        text += "*"
    return text


REGEX_ATOMS = ["a", "b", "A", "c", " ", "-", ".", "[ab]", "[^a]", "\\.", "(a|bc)"]


@st.composite
def regexes(draw: st.DrawFn) -> str:
    """A regex both RE2 and Python's re read alike: letters, classes, groups, quantifiers."""
    pieces = draw(st.lists(st.sampled_from(REGEX_ATOMS), min_size=1, max_size=4))
    quantified = [p + draw(st.sampled_from(["", "", "?", "+", "*", "{1,2}"])) for p in pieces]
    return draw(st.sampled_from(["", "^"])) + "".join(quantified) + draw(st.sampled_from(["", "$"]))


@st.composite
def items(draw: st.DrawFn, field: str, cased: bool, regex: bool = False) -> tuple[str, Any]:
    if field == "n":
        op = draw(st.sampled_from(["lt", "lte", "gt", "gte"]))
        return f"n|{op}", draw(st.integers(-5, 5))
    if regex and draw(st.integers(0, 3)) == 0:
        flags = draw(st.sampled_from(["", "|i"]))
        return f"{field}|re{flags}", draw(regexes())
    modifier = draw(st.sampled_from(MODIFIERS + (CASED if cased else [])))
    values = draw(st.lists(patterns(), min_size=1, max_size=3))
    return f"{field}{modifier}", values if len(values) > 1 else values[0]


@st.composite
def rules(draw: st.DrawFn, cased: bool = False, regex: bool = False) -> tuple[dict[str, Any], str]:
    detections: dict[str, Any] = {}
    for i in range(draw(st.integers(1, 3))):
        fields = draw(
            st.lists(st.sampled_from(FIELDS + ["n"]), min_size=1, max_size=2, unique=True)
        )
        detections[f"sel{i}"] = dict(draw(items(f, cased, regex)) for f in fields)
    names = list(detections)
    condition = draw(conditions(names))
    return detections, condition


def conditions(names: list[str]) -> st.SearchStrategy[str]:
    leaves = st.sampled_from(names + ["1 of sel*", "all of sel*", "1 of them"])
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            st.builds(lambda a: f"not {a}", inner.map(lambda s: f"({s})")),
            st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
            st.builds(lambda a, b: f"({a}) or ({b})", inner, inner),
        ),
        max_leaves=4,
    )


def _literals_of(detections: dict[str, Any]) -> list[str]:
    found = []
    for detection in detections.values():
        for key, value in detection.items():
            if key.startswith("n|") or "|re" in key:
                continue
            for v in value if isinstance(value, list) else [value]:
                found += [p for p in v.split("*") if p]
    return found or ["a"]


@st.composite
def events(draw: st.DrawFn, detections: dict[str, Any]) -> dict[str, Any]:
    pool = _literals_of(detections)
    event: dict[str, Any] = {}
    for field in FIELDS:
        base = draw(st.sampled_from(pool))
        shape = draw(st.sampled_from(["same", "swapcase", "pad", "cut", "join", "other"]))
        if shape == "swapcase":
            base = base.swapcase()
        elif shape == "pad":
            base = draw(literals) + base + draw(literals)
        elif shape == "cut":
            base = base[1:] or base
        elif shape == "join":
            base = base + draw(st.sampled_from(pool))
        elif shape == "other":
            base = draw(literals)
        event[field] = base
    event["n"] = draw(st.integers(-6, 6))
    return event


# Why a backend may refuse a generated rule (docs/evaluator.md, "Known differences").
DOCUMENTED_REFUSALS = {
    "eql": ("cannot match a case-sensitive value with wildcards",),
    "sqlite": (),
}


def _check(engine: str, detections: dict[str, Any], condition: str, event: dict[str, Any]) -> None:
    require(engine)
    rule = make_rule(detections, condition)
    try:
        query = (eql_query if engine == "eql" else sqlite_query)(rule)
    except Unsupported as err:
        # A refusal is never a silent pass: it must be one the docs name (docs/evaluator.md).
        reason = str(err)
        assert any(known in reason for known in DOCUMENTED_REFUSALS[engine]), (
            f"{engine} refused a generated rule for an undocumented reason: {reason}"
        )
        event_note(f"{engine}: refused ({reason[:60]})")
        return
    native = bool(compile_rules([rule]).match(event))
    verdict = (eql_verdict if engine == "eql" else sqlite_verdict)(query, event)
    assert verdict is native, f"{engine}: {query!r} on {event!r}: engine {verdict}, native {native}"


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(st.data())
def test_sqlite_agrees_with_the_native_evaluator(data: st.DataObject) -> None:
    # Regexes too: SQLite's REGEXP is Python's re.search, unanchored like the evaluator's.
    detections, condition = data.draw(rules(cased=True, regex=True))
    _check("sqlite", detections, condition, data.draw(events(detections)))


@SETTINGS
@given(st.data())
def test_eql_agrees_with_the_native_evaluator(data: st.DataObject) -> None:
    # No `cased` here: the eql engine's '==' ignores case (documented).
    detections, condition = data.draw(rules(cased=False))
    _check("eql", detections, condition, data.draw(events(detections)))


@st.composite
def networks_and_addresses(draw: st.DrawFn) -> tuple[str, str]:
    """An IPv4 network and an address in it or near it (same first octets, or any)."""
    import ipaddress

    prefix = draw(st.integers(0, 32))
    base = ipaddress.IPv4Address(draw(st.integers(0, 2**32 - 1)))
    network = ipaddress.IPv4Network((int(base), prefix), strict=False)
    inside = int(network.network_address) + draw(st.integers(0, network.num_addresses - 1))
    nearby = int(network.network_address) ^ (1 << draw(st.integers(0, 31)))
    address = draw(st.sampled_from([inside, nearby, draw(st.integers(0, 2**32 - 1))]))
    return str(network), str(ipaddress.IPv4Address(address))


@SETTINGS
@given(networks_and_addresses(), st.sampled_from(["eql", "sqlite"]))
def test_cidr_agrees_with_both_engines(case: tuple[str, str], engine: str) -> None:
    network, address = case
    _check(engine, {"selection": {"ip|cidr": network}}, "selection", {"ip": address})
