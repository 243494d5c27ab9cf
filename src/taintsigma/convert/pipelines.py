"""Named pipelines for pySigma's plugin registry, so sigma-cli can use ours with ``-p``."""

from __future__ import annotations

from sigma.processing.pipeline import ProcessingPipeline

from taintsigma.convert.targets import load_pipeline_file, load_target
from taintsigma.resources import bundled_backends_dir


def taintsigma_ecs_syslog() -> ProcessingPipeline:
    """Linux syslog taxonomy -> ECS (Filebeat system module), for every Elasticsearch target."""
    return load_pipeline_file(bundled_backends_dir() / "_common" / "ecs_syslog.yml")


def taintsigma_ecs_syslog_elastic_agent() -> ProcessingPipeline:
    """As taintsigma_ecs_syslog, matching data_stream.dataset as Elastic Agent writes it."""
    return taintsigma_ecs_syslog() + load_pipeline_file(
        bundled_backends_dir() / "_common" / "ecs_elastic_agent.yml"
    )


def taintsigma_splunk_syslog() -> ProcessingPipeline:
    """Linux syslog taxonomy -> Splunk Add-on for Unix and Linux fields."""
    return load_target("splunk").build_pipeline()
