"""Splunk savedsearches.conf: risk action, one alert per event, and Splunk AppInspect's verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from export_checks import check_splunk_savedsearches
from helpers import make_rule
from regen_golden import BUNDLED, CORRELATIONS, FLAGSHIP_RULE

from taintsigma.errors import ErrorPolicy, ExportError, UnsupportedByTarget
from taintsigma.export.run import export_rule, export_rules
from taintsigma.export.splunk_app import write_splunk_app
from taintsigma.rules.loader import load_rules

RID = "6f1c9d52-3c1e-4f37-9a55-0d1ad1b6c2a1"
FLAGSHIP = "Tainted Kernel Module Load - 05cad2fb-200c-407f-b472-02ea8c9e5e4a"
APPINSPECT = shutil.which("splunk-appinspect", path=str(Path(sys.executable).parent))


def _flagship() -> dict[str, str]:
    (package,) = export_rules(load_rules([FLAGSHIP_RULE]), "splunk-savedsearches").packages
    return dict(check_splunk_savedsearches(package.text)[FLAGSHIP])


def test_risk_is_a_risk_action_on_the_host() -> None:
    stanza = _flagship()
    assert stanza["action.risk"] == "1"
    assert json.loads(stanza["action.risk.param._risk"]) == [
        {"risk_object_field": "host", "risk_object_type": "system", "risk_score": 21}
    ]
    assert stanza["action.risk.param._risk_message"] == "Tainted Kernel Module Load on $host$"


def test_runs_tile_index_time_so_one_event_raises_one_alert() -> None:
    stanza = _flagship()
    assert stanza["cron_schedule"] == "*/5 * * * *"
    # every 5 minutes, the events indexed in the 5 whole minutes before: no overlap, no gap
    assert (stanza["dispatch.index_earliest"], stanza["dispatch.index_latest"]) == ("-5m@m", "@m")
    assert (stanza["dispatch.earliest_time"], stanza["dispatch.latest_time"]) == ("-9m@m", "now")


def test_a_newline_in_the_title_does_not_break_the_stanza_header() -> None:
    rule = make_rule(
        {"selection": {"program": "sshd"}}, rule_id=RID, title="two\nlines [x]", description="d"
    )
    text = export_rule(rule, "splunk-savedsearches")
    assert text.splitlines()[0] == f"[two lines (x) - {RID}]"
    parser = check_splunk_savedsearches(text)
    assert parser.sections() == [f"two lines (x) - {RID}"]


def test_a_splunk_app_holds_only_savedsearches(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="splunk-savedsearches packages, not sentinel"):
        write_splunk_app(export_rules(load_rules([FLAGSHIP_RULE]), "sentinel"), tmp_path)
    report = export_rules(load_rules([FLAGSHIP_RULE]), "splunk-savedsearches")
    with pytest.raises(ExportError, match="app id"):
        write_splunk_app(report, tmp_path, app_id="1 bad")


def _appinspect(app: Path, out: Path) -> dict:
    if APPINSPECT is None:
        pytest.skip("splunk-appinspect is not installed (pip install -e '.[test]')")
    subprocess.run(
        [APPINSPECT, "inspect", str(app), "--mode", "precert", "--skip-trusted-libraries-update",
         "--output-file", str(out), "--data-format", "json"],
        check=False, capture_output=True, timeout=300,
    )  # fmt: skip
    return json.loads(out.read_text(encoding="utf-8"))


def _problems(result: dict) -> list[str]:
    return [
        f"{check['name']}: {check['result']}: {[m['message'] for m in check['messages']]}"
        for report in result["reports"]
        for group in report["groups"]
        for check in group["checks"]
        if check["result"] in ("error", "failure", "warning")
    ]


@pytest.mark.parametrize("rules", ["bundled", "correlations"])
def test_appinspect_passes_the_app_of_the_bundled_rules(tmp_path: Path, rules: str) -> None:
    # "correlations": the fixture correlations over the bundled rules (their stanzas only)
    folders = [BUNDLED] if rules == "bundled" else [FLAGSHIP_RULE, CORRELATIONS]
    # Splunk refuses the journald-only variant (UnsupportedByTarget); the app holds the others
    report = export_rules(load_rules(folders), "splunk-savedsearches", on_error=ErrorPolicy.COLLECT)
    assert all(isinstance(e, UnsupportedByTarget) for e in report.errors)
    app = write_splunk_app(report, tmp_path)
    result = _appinspect(app, tmp_path / "result.json")
    assert result["summary"]["error"] == 0 and result["summary"]["failure"] == 0, _problems(result)
    assert _problems(result) == []
    assert result["summary"]["success"] > 50  # the checks ran


def test_appinspect_would_catch_a_bad_stanza(tmp_path: Path) -> None:
    report = export_rules(load_rules([FLAGSHIP_RULE]), "splunk-savedsearches")
    app = write_splunk_app(report, tmp_path)
    conf = app / "default" / "savedsearches.conf"
    conf.write_text(
        conf.read_text(encoding="utf-8").replace("*/5 * * * *", "*/5 * * *"), encoding="utf-8"
    )
    result = _appinspect(app, tmp_path / "result.json")
    assert any("cron_schedule" in p for p in _problems(result)), _problems(result)
    assert result["summary"]["failure"] > 0
