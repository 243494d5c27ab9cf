from taintsigma.convert.pipelines import (
    taintsigma_ecs_linux,
    taintsigma_ecs_linux_auditbeat,
    taintsigma_ecs_syslog,
    taintsigma_ecs_syslog_elastic_agent,
    taintsigma_sentinel,
    taintsigma_splunk_syslog,
)

__all__ = [
    "taintsigma_ecs_linux",
    "taintsigma_ecs_linux_auditbeat",
    "taintsigma_ecs_syslog",
    "taintsigma_ecs_syslog_elastic_agent",
    "taintsigma_sentinel",
    "taintsigma_splunk_syslog",
]
pipelines = {
    "taintsigma_ecs_syslog": taintsigma_ecs_syslog,
    "taintsigma_ecs_syslog_elastic_agent": taintsigma_ecs_syslog_elastic_agent,
    "taintsigma_ecs_linux": taintsigma_ecs_linux,
    "taintsigma_ecs_linux_auditbeat": taintsigma_ecs_linux_auditbeat,
    "taintsigma_splunk_syslog": taintsigma_splunk_syslog,
    "taintsigma_sentinel": taintsigma_sentinel,
}
