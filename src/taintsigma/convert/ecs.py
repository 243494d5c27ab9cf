"""The official ECS field types, committed as data (backends/_common/ecs_fields.json).

Generated from npm ``@elastic/ecs`` by ``scripts/ecs_fields.py``; read here, never from npm, so
conversion works offline. Pipelines that set the var ``taintsigma_field_types: ecs`` get the
ECS text fields (``match_only_text``, ``text``) treated as analysed text (phrase queries) by
taintsigma.convert.fieldtypes.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from taintsigma.resources import bundled_backends_dir

FIELD_TYPES_VAR = "taintsigma_field_types"
# A pipeline var: {field ECS does not define: its Elasticsearch type} (integration fields).
DECLARED_TYPES_VAR = "taintsigma_declared_field_types"
TEXT_TYPES = frozenset({"text", "match_only_text"})


@cache
def ecs_field_types() -> dict[str, str]:
    """``{ECS field name: Elasticsearch type}`` (multi-fields such as ``*.text`` included).

    >>> ecs_field_types()["process.command_line"]
    'wildcard'
    """
    path = bundled_backends_dir() / "_common" / "ecs_fields.json"
    return dict(json.loads(path.read_text(encoding="utf-8"))["types"])


def pipeline_field_types(pipeline: Any) -> dict[str, str]:
    """``{field: Elasticsearch type}`` a processing pipeline declares: its integration fields
    (``taintsigma_declared_field_types``) and, with ``taintsigma_field_types: ecs``, every ECS field."""
    if pipeline is None:
        return {}
    types: dict[str, str] = dict(pipeline.vars.get(DECLARED_TYPES_VAR) or {})
    if pipeline.vars.get(FIELD_TYPES_VAR) == "ecs":
        types.update(ecs_field_types())
    return types


@cache
def ecs_text_fields() -> frozenset[str]:
    """ECS fields indexed as analysed text."""
    return frozenset(name for name, kind in ecs_field_types().items() if kind in TEXT_TYPES)
