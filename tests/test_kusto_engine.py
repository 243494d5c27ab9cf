"""Every sentinel query, of SigmaHQ's Linux rules and of the goldens, parsed and bound by
Microsoft's Kusto language service against the tables' schemas: zero diagnostics."""

from __future__ import annotations

import pytest
from kusto_check import kusto_diagnostics, skip_reason
from regen_golden import GOLDEN

from tests.linux_corpus import corpus_report

pytestmark = pytest.mark.skipif(skip_reason() is not None, reason=skip_reason() or "")


def test_the_binder_reports_unknown_columns_and_tables():
    unknown_column, unknown_table, fine = kusto_diagnostics(
        ['Syslog\n| where Nope =~ "x"', "Nope\n| where a == 1", "Syslog\n| where ProcessID == 1"]
    )
    assert unknown_column and "Nope" in unknown_column[0]
    assert unknown_table and fine == []


def test_an_int_column_refuses_a_string_list():
    # What the Kusto backend wrote for a port list before taintsigma kept numbers out of in~.
    [found] = kusto_diagnostics(['imNetworkSession\n| where DstPortNumber in~ ("22", "23")'])
    assert found


@pytest.mark.parametrize("options", [(), ("xdr",)], ids=["asim", "xdr"])
def test_every_corpus_query_binds(options):
    report = corpus_report("sentinel", options)
    assert len(report.conversions) >= 200
    found = kusto_diagnostics([c.query for c in report.conversions])
    bad = {c.stem: d for c, d in zip(report.conversions, found) if d}
    assert not bad, bad


def test_every_golden_query_binds():
    goldens = sorted((GOLDEN / "sentinel").glob("*.kusto"))
    assert goldens
    found = kusto_diagnostics([p.read_text(encoding="utf-8") for p in goldens])
    bad = {p.name: d for p, d in zip(goldens, found) if d}
    assert not bad, bad
