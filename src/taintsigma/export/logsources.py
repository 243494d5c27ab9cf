"""Each logsource's Elasticsearch indices and Fleet integrations, read from ``backends/``.

A rule that names no ``elastic.index`` (and whose logsource has no default in the rule
metadata, docs/metadata.md) gets the indices the ``esql`` target's pipelines give its
logsource (:func:`taintsigma.convert.mappings.logsource_indices`: the ``index`` states of
``backends/esql/*.yml``, ``-O elastic-agent`` included), and the Fleet packages of those
``logs-<package>.<dataset>-*`` patterns as its integrations. Nothing here is per logsource:
a new ``index`` state in ``backends/esql/`` brings its logsource to every Elastic export.
"""

from __future__ import annotations

import dataclasses
import re
from functools import cache

from sigma.rule import SigmaLogSource

from taintsigma.convert.mappings import logsource_indices, logsource_key
from taintsigma.rules.metadata import RuleMetadata

# logs-<package>.<dataset>-* is the Fleet data stream naming scheme.
_FLEET_PATTERN = re.compile(r"logs-([a-z0-9_]+)\.[^-]*-.*")


@cache
def _indices(options: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    return logsource_indices(options)


def with_logsource_index(meta: RuleMetadata, options: tuple[str, ...] = ()) -> RuleMetadata:
    """``meta`` with the indices (and, unless the rule names them, the integrations) of its
    logsource when the rule and its metadata defaults name none; unchanged otherwise (a
    logsource ``backends/esql/`` gives no index keeps the metadata's "elastic.index is
    required" error)."""
    if meta.elastic_index is not None:
        return meta
    key = logsource_key(SigmaLogSource(meta.category, meta.product, meta.service))
    index = _indices(tuple(sorted(options))).get(key)
    if not index:
        return meta
    integration = meta.elastic_integration or fleet_packages(index)
    return dataclasses.replace(meta, elastic_index=index, elastic_integration=integration)


def fleet_packages(index: tuple[str, ...]) -> tuple[str, ...]:
    """The Fleet packages of Fleet-named index patterns, in order, each once.

    >>> fleet_packages(("filebeat-*", "logs-endpoint.events.process-*", "logs-auditd.log-*"))
    ('endpoint', 'auditd')
    """
    found: list[str] = []
    for pattern in index:
        match = _FLEET_PATTERN.fullmatch(pattern)
        if match and match[1] not in found:
            found.append(match[1])
    return tuple(found)
