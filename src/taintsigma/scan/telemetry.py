"""ECS telemetry documents (Elastic Defend, Auditbeat) read back into Sigma's field names."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from taintsigma.logs.event import LogSourceKey, get_field

_ARGUMENTS = (("CommandLine", "process.args"), ("ParentCommandLine", "process.parent.args"))
ELASTIC_TARGET = "kibana-kql"  # every Elastic target shares backends/_common/ecs_*.yml
# Options of the Elastic targets that query another integration's documents of a category
# (-O auditbeat: Auditbeat's and Auditd Manager's executions). A document holding what such
# an option's queries require of the category is read back with that option's mapping; any
# other with the targets' default one (Elastic Defend).
ELASTIC_SOURCE_OPTIONS: tuple[tuple[str, ...], ...] = (("auditbeat",),)


@lru_cache(maxsize=1)
def reversed_mappings() -> dict[str, list[Any]]:
    """The Elastic targets' mappings reversed, as plain data (the compiled-rule cache keeps
    them): ``{options joined by ",": [fields, values, conditions]}`` for the default mapping
    (``""``) and each of :data:`ELASTIC_SOURCE_OPTIONS`; see
    taintsigma.convert.mappings (reverse_field_mappings, reverse_value_mappings,
    logsource_conditions)."""
    from taintsigma.convert.mappings import (
        logsource_conditions,
        reverse_field_mappings,
        reverse_value_mappings,
    )

    return {
        ",".join(options): [
            reverse_field_mappings(ELASTIC_TARGET, options),
            reverse_value_mappings(ELASTIC_TARGET, options),
            logsource_conditions(ELASTIC_TARGET, options),
        ]
        for options in ((), *ELASTIC_SOURCE_OPTIONS)
    }


def source_options(
    document: Any, key: str, reverse: dict[str, list[Any]] | None = None
) -> tuple[str, ...]:
    """The Elastic target options whose mapping reads ``document`` (of logsource ``key``,
    e.g. ``linux/process_creation``): those whose queries' conditions for that logsource it
    meets, where they differ from the default ones; ``()`` for the default mapping.

    >>> source_options({"event": {"category": ["process"], "type": ["start"],
    ...                 "action": "executed"}}, "linux/process_creation")
    ('auditbeat',)
    """
    mappings = reverse if reverse is not None else reversed_mappings()
    default = mappings[""][2].get(key)
    for options in ELASTIC_SOURCE_OPTIONS:
        entry = mappings.get(",".join(options))
        conditions = entry[2].get(key) if entry is not None else None
        if conditions and conditions != default and all(
            _holds(get_field(document, name), value) for name, value in conditions.items()
        ):
            return options
    return ()


def _holds(value: object, wanted: object) -> bool:
    folded = str(wanted).lower()
    values = value if isinstance(value, list) else [value]
    return any(v is not None and str(v).lower() == folded for v in values)


def sigma_fields(
    document: Any, source: LogSourceKey, reverse: dict[str, list[Any]] | None = None
) -> dict[str, object]:
    """An ECS document with, besides its own fields, Sigma's names for the fields the Elastic
    targets' mapping of ``source`` knows (``process.executable`` → ``Image``), read back with
    that same mapping (taintsigma.convert.mappings.reverse_field_mappings) and its value
    mappings (``network.direction: egress`` → ``Initiated: 'true'``). Auditbeat's and Auditd
    Manager's executions are read with the ``auditbeat`` option's mapping
    (``process.title`` → ``CommandLine``, ``user.audit.id`` → ``LogonId``), Elastic Defend's
    with the default one (:func:`source_options`). ``reverse`` is :func:`reversed_mappings`
    (as the compiled-rule cache keeps it), else computed.

    A document without the command line field but with ``process.args`` gets ``CommandLine``
    from the arguments joined with spaces, as the process_creation events built from audit
    records do; the same for the parent.

    >>> sigma_fields({"process": {"executable": "/usr/bin/id", "args": ["id", "-u"]}},
    ...              LogSourceKey(product="linux", category="process_creation"))["CommandLine"]
    'id -u'
    """
    mappings = reverse if reverse is not None else reversed_mappings()
    key = f"{source.product}/{source.category}"
    fields_of, values, _ = mappings[",".join(source_options(document, key, mappings))]
    fields: dict[str, object] = dict(document)
    found: dict[str, object] = {}
    for name, sigmas in fields_of.get(key, {}).items():
        value = get_field(document, name)
        if value is None:
            continue
        mapped = values.get(key, {}).get(name)
        if mapped is not None and isinstance(value, str):
            value = mapped.get(value.lower(), value)
        for sigma in sigmas:
            found.setdefault(sigma, value)
    known = {sigma for sigmas in fields_of.get(key, {}).values() for sigma in sigmas}
    for sigma, name in _ARGUMENTS:
        args = get_field(document, name)
        if sigma in known and sigma not in found and isinstance(args, list) and args:
            found[sigma] = " ".join(str(arg) for arg in args)
    fields.update(found)
    return fields
