"""ECS telemetry documents (Elastic Defend, Auditbeat) read back into Sigma's field names."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from taintsigma.logs.event import LogSourceKey, get_field

_ARGUMENTS = (("CommandLine", "process.args"), ("ParentCommandLine", "process.parent.args"))
ELASTIC_TARGET = "kibana-kql"  # every Elastic target shares backends/_common/ecs_linux.yml


@lru_cache(maxsize=1)
def reversed_mappings() -> tuple[dict[str, Any], dict[str, Any]]:
    from taintsigma.convert.mappings import reverse_field_mappings, reverse_value_mappings

    return reverse_field_mappings(ELASTIC_TARGET), reverse_value_mappings(ELASTIC_TARGET)


def sigma_fields(
    document: Any, source: LogSourceKey, reverse: tuple[Any, Any] | None = None
) -> dict[str, object]:
    """An ECS document with, besides its own fields, Sigma's names for the fields the Elastic
    targets' mapping of ``source`` knows (``process.executable`` → ``Image``), read back with
    that same mapping (taintsigma.convert.mappings.reverse_field_mappings) and its value
    mappings (``network.direction: egress`` → ``Initiated: 'true'``); ``reverse`` gives both
    (as the compiled-rule cache keeps them), else they are computed.

    A document without ``process.command_line`` but with ``process.args`` (Auditbeat and
    Auditd Manager write no command line) gets ``CommandLine`` from the arguments joined with
    spaces, as the process_creation events built from audit records do; the same for the
    parent.

    >>> sigma_fields({"process": {"executable": "/usr/bin/id", "args": ["id", "-u"]}},
    ...              LogSourceKey(product="linux", category="process_creation"))["CommandLine"]
    'id -u'
    """
    reverse, values = reverse if reverse is not None else reversed_mappings()
    key = f"{source.product}/{source.category}"
    fields: dict[str, object] = dict(document)
    found: dict[str, object] = {}
    for name, sigmas in reverse.get(key, {}).items():
        value = get_field(document, name)
        if value is None:
            continue
        mapped = values.get(key, {}).get(name)
        if mapped is not None and isinstance(value, str):
            value = mapped.get(value.lower(), value)
        for sigma in sigmas:
            found.setdefault(sigma, value)
    known = {sigma for sigmas in reverse.get(key, {}).values() for sigma in sigmas}
    for sigma, name in _ARGUMENTS:
        args = get_field(document, name)
        if sigma in known and sigma not in found and isinstance(args, list) and args:
            found[sigma] = " ".join(str(arg) for arg in args)
    fields.update(found)
    return fields
