"""ECS field names and types: the committed data matches npm @elastic/ecs, and every field of
every kibana-kql query over SigmaHQ's Linux rules is an official ECS field or in a documented
integration namespace."""

from __future__ import annotations

import importlib.util
import re
import shutil
import sys
from pathlib import Path

import pytest
import yaml

from taintsigma.convert.ecs import ecs_field_types
from tests.linux_corpus import corpus_report

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tests" / "engines" / "ecs" / "node_modules" / "@elastic" / "ecs"

# Integration fields outside ECS, documented in docs/taxonomy.md: the Auditd Logs
# integration's key=value pairs (and Auditd Manager's auditd.user.audit.*), the system
# integration's auth fields, and Auditbeat's auditd module's user.audit.* (the auid, -O
# auditbeat).
INTEGRATION_NAMESPACES = ("auditd.", "system.auth.", "user.audit.")
# Elastic Defend's lower-case keyword multi-fields (the pipeline var taintsigma_caseless_fields
# of backends/_common/ecs_process_defend.yml, docs/kql.md): kibana-kql searches a whitespace
# value under 'not' there.
DEFEND_CASELESS = frozenset(
    yaml.safe_load((ROOT / "backends" / "_common" / "ecs_process_defend.yml").read_text())[
        "vars"
    ]["taintsigma_caseless_fields"].values()
)

_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_FIELD = re.compile(r"(?<![\w.\\@*])([A-Za-z_@][\w.@-]*)\s*:")


def kql_fields(query: str) -> set[str]:
    """Field names of a KQL query (the names before an unescaped ``:`` outside quotes)."""
    return set(_FIELD.findall(_QUOTED.sub('""', query)))


def _script():
    spec = importlib.util.spec_from_file_location(
        "ecs_fields_script", ROOT / "scripts" / "ecs_fields.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_ecs_types_match_the_npm_package():
    if shutil.which("node") is None:
        pytest.skip("node is not installed (needed to read npm @elastic/ecs)")
    if not PACKAGE.is_dir():
        pytest.skip("npm @elastic/ecs is not installed: cd tests/engines/ecs && npm ci")
    script = _script()
    committed = (ROOT / "backends" / "_common" / "ecs_fields.json").read_text(encoding="utf-8")
    assert committed == script.render(script.ecs_field_types(PACKAGE)), (
        "backends/_common/ecs_fields.json is stale: run python scripts/ecs_fields.py"
    )


def test_kql_field_parser():
    assert kql_fields('a.b:x and c:"d: e" and not m:*a\\:b* and process.args:(x or y)') == {
        "a.b",
        "c",
        "m",
        "process.args",
    }


@pytest.mark.parametrize(
    "options", [(), ("elastic-agent",), ("auditbeat",)], ids=["filebeat", "elastic-agent", "auditbeat"]
)
def test_every_kql_field_is_ecs_or_a_documented_integration_field(options):
    types = ecs_field_types()
    report = corpus_report("kibana-kql", options)
    assert report.conversions
    unknown = {
        (c.stem, name)
        for c in report.conversions
        for name in kql_fields(c.query)
        if name not in types
        and not name.startswith(INTEGRATION_NAMESPACES)
        and name not in DEFEND_CASELESS
    }
    assert not unknown, sorted(unknown)[:20]
