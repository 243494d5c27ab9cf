"""taintsigma's plugins in sigma-cli: `sigma list pipelines` and `sigma list targets` work,
every named pipeline has a name, and a pipeline is only allowed with the backends that give
the query taintsigma gives."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sigma.collection import SigmaCollection
from sigma.exceptions import SigmaPipelineNotAllowedForBackendError
from sigma.plugins import InstalledSigmaPlugins

from taintsigma.convert.conversion import convert_rules

pytest.importorskip("sigma.cli.main", reason="sigma-cli is not installed")


def sigma(*args: str) -> subprocess.CompletedProcess:
    """Run sigma-cli, as the `sigma` command does, in a real process."""
    return subprocess.run(
        [sys.executable, "-c", "from sigma.cli.main import main; main()", *args],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


OURS = {
    "taintsigma_ecs_syslog",
    "taintsigma_ecs_syslog_elastic_agent",
    "taintsigma_ecs_linux",
    "taintsigma_ecs_linux_auditbeat",
    "taintsigma_splunk_syslog",
    "taintsigma_sentinel",
}


def test_every_named_pipeline_has_a_name_and_its_backends():
    pipelines = InstalledSigmaPlugins.autodiscover().pipelines
    assert OURS <= set(pipelines)
    for identifier in OURS:
        pipeline = pipelines[identifier]()
        assert pipeline.name and pipeline.name.startswith("taintsigma"), identifier
        assert pipeline.allowed_backends, identifier


@pytest.mark.parametrize("what", ["pipelines", "targets"])
def test_sigma_list_works(what):
    result = sigma("list", what)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "kibana-kql" in result.stdout
    if what == "pipelines":
        assert all(name in result.stdout for name in OURS)


def test_the_ecs_pipeline_is_refused_for_pysigmas_lucene_backend():
    resolver = InstalledSigmaPlugins.autodiscover().get_pipeline_resolver()
    with pytest.raises(SigmaPipelineNotAllowedForBackendError):
        resolver.resolve(["taintsigma_ecs_linux"], target="lucene")


_RULE = """
title: Base64 decode
id: 11111111-2222-4333-8444-555555555555
status: test
logsource: {product: linux, category: process_creation}
detection:
  selection:
    Image|endswith: /base64
    CommandLine|contains: ' -d'
  condition: selection
level: low
"""


@pytest.mark.parametrize(
    ("pipeline", "backend", "target"),
    [
        ("taintsigma_ecs_linux", "kibana-kql", "kibana-kql"),
        ("taintsigma_splunk_syslog", "splunk", "splunk"),
        ("taintsigma_sentinel", "kusto", "sentinel"),
    ],
)  # fmt: skip
def test_sigma_convert_gives_taintsigmas_query(tmp_path, pipeline, backend, target):
    rule = tmp_path / "rule.yml"
    rule.write_text(_RULE, encoding="utf-8")
    result = sigma("convert", "-t", backend, "-p", pipeline, str(rule))
    assert result.returncode == 0, result.stderr
    [ours] = convert_rules(SigmaCollection.from_yaml(_RULE), target).conversions
    assert result.stdout.strip().endswith(ours.query)


def test_sigma_convert_with_the_auditbeat_pipeline_gives_the_options_query(tmp_path):
    rule = tmp_path / "rule.yml"
    rule.write_text(_RULE, encoding="utf-8")
    result = sigma("convert", "-t", "kibana-kql", "-p", "taintsigma_ecs_linux_auditbeat", str(rule))
    assert result.returncode == 0, result.stderr
    rules = SigmaCollection.from_yaml(_RULE)
    [ours] = convert_rules(rules, "kibana-kql", options=("auditbeat",)).conversions
    assert "event.action:executed" in ours.query
    assert result.stdout.strip().endswith(ours.query)
