"""Named pipelines for pySigma's plugin registry, so sigma-cli can use ours with ``-p``.

Each has a name (sigma-cli lists them) and ``allowed_backends``: the pySigma backends with
which the pipeline gives the query ``taintsigma convert`` gives. The ECS pipelines declare
``message`` as analysed text, which only taintsigma's field-type aware backends honour (pySigma's
own Lucene, EQL and ES|QL backends would search it with wildcards that never match), so sigma-cli
allows them with ``kibana-kql`` only; use ``taintsigma convert`` for the other Elastic targets.
"""

from __future__ import annotations

from sigma.processing.pipeline import ProcessingPipeline

from taintsigma.convert.targets import load_pipeline_file, load_target
from taintsigma.resources import bundled_backends_dir

# Items of ecs_syslog.yml that choose where a SIEM stores a service's lines, not what they say.
SCAN_DROPS = "taintsigma_ecs_service_dataset_"


def _common(name: str) -> ProcessingPipeline:
    return load_pipeline_file(bundled_backends_dir() / "_common" / name)


def _named(pipeline: ProcessingPipeline, name: str, *backends: str) -> ProcessingPipeline:
    pipeline.name = name
    pipeline.priority = 20  # as the YAML layers; `+` would leave 0
    pipeline.allowed_backends = frozenset(backends)
    return pipeline


def taintsigma_ecs_syslog() -> ProcessingPipeline:
    """Linux syslog taxonomy -> ECS (Filebeat system module), for every Elasticsearch target."""
    pipeline = _common("ecs_syslog.yml")
    return _named(pipeline, str(pipeline.name), "kibana-kql")


def taintsigma_ecs_syslog_elastic_agent() -> ProcessingPipeline:
    """As taintsigma_ecs_syslog, matching data_stream.dataset as Elastic Agent writes it."""
    return _named(
        taintsigma_ecs_syslog() + _common("ecs_elastic_agent.yml"),
        "taintsigma ECS mapping for Linux syslog (Elastic Agent System integration)",
        "kibana-kql",
    )


def taintsigma_ecs_linux() -> ProcessingPipeline:
    """Every Linux logsource -> ECS (the Elastic targets' pipelines, unmapped fields refused)."""
    return _named(
        taintsigma_ecs_syslog() + _common("ecs_process_defend.yml") + _common("ecs_linux.yml"),
        "taintsigma ECS mapping for Linux (syslog and services, Elastic Defend, Auditd Logs)",
        "kibana-kql",
    )


def taintsigma_ecs_linux_auditbeat() -> ProcessingPipeline:
    """As taintsigma_ecs_linux, with process_creation rules on the executions Auditbeat and
    Auditd Manager index (the Elastic targets' ``-O auditbeat``)."""
    return _named(
        taintsigma_ecs_syslog()
        + _common("ecs_process_auditbeat.yml")
        + _common("ecs_linux.yml"),
        "taintsigma ECS mapping for Linux (process_creation: Auditbeat and Auditd Manager)",
        "kibana-kql",
    )


def taintsigma_ecs_scan() -> ProcessingPipeline:
    """taintsigma_ecs_syslog for the native scan: a service's rule keeps its program condition
    but not the system integration's dataset, since the scan reads syslog, journald and dmesg
    lines of any file (the Linux adapters' events all say event.dataset system.syslog)."""
    pipeline = taintsigma_ecs_syslog()
    pipeline.items = [
        item
        for item in pipeline.items
        if not str(getattr(item, "identifier", "")).startswith(SCAN_DROPS)
    ]
    return pipeline


def taintsigma_splunk_syslog() -> ProcessingPipeline:
    """Every Linux logsource -> Splunk (the splunk target's pipelines)."""
    return _named(
        load_target("splunk").build_pipeline(),
        "taintsigma Splunk mapping for Linux (syslog, services, CIM, linux:audit)",
        "splunk",
    )


def taintsigma_sentinel() -> ProcessingPipeline:
    """Every Linux logsource -> Microsoft Sentinel (the sentinel target's pipelines)."""
    return _named(
        load_target("sentinel").build_pipeline(),
        "taintsigma Microsoft Sentinel mapping for Linux (Syslog, ASIM)",
        "kusto",
    )
