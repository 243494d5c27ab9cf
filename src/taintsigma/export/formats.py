"""The export formats: which module builds each, its file extension and the targets it reads."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from taintsigma.convert.targets import unknown_message
from taintsigma.errors import TargetNotFoundError
from taintsigma.export.common import QUERY_CHAIN


@dataclass(frozen=True, kw_only=True)
class ExportFormat:
    """An export format: its module (with ``build``), file extension and how outputs join."""

    id: str
    description: str
    module: str
    extension: str
    separator: str
    targets: tuple[str, ...]

    def join(self, texts: list[str]) -> str:
        """Several packages as one text (stdout without ``-o``)."""
        return self.separator.join(texts)

    def builder(self) -> Callable[..., tuple[str, list[str]]]:
        return importlib.import_module(self.module).build

    def namer(self) -> Callable[..., str] | None:
        """The module's ``filename(meta, stem)`` when the format names its own files."""
        return getattr(importlib.import_module(self.module), "filename", None)


# The conversion targets the Elastic formats take queries from, in fallback order.
ELASTIC_TARGETS = tuple(target for _, _, target in QUERY_CHAIN)
FORMATS: dict[str, ExportFormat] = {
    fmt.id: fmt
    for fmt in (
        ExportFormat(
            id="kibana-ndjson",
            description="Kibana detection rules, one JSON object per line (Kibana rule import)",
            module="taintsigma.export.kibana_ndjson", extension="ndjson", separator="\n",
            targets=ELASTIC_TARGETS,
        ),
        ExportFormat(
            id="elastic-toml",
            description="TOML of Elastic's detection-rules repository, to propose a rule upstream",
            module="taintsigma.export.elastic_toml", extension="toml", separator="\n\n",
            targets=ELASTIC_TARGETS,
        ),
        ExportFormat(
            id="splunk-savedsearches",
            description="Splunk savedsearches.conf stanzas (Enterprise Security correlation searches)",
            module="taintsigma.export.splunk_savedsearches", extension="conf", separator="\n\n",
            targets=("splunk",),
        ),
        ExportFormat(
            id="sentinel",
            description="Microsoft Sentinel scheduled analytics rule YAML (Azure-Sentinel content format)",
            module="taintsigma.export.sentinel", extension="yaml", separator="\n---\n",
            targets=("sentinel",),
        ),
        ExportFormat(
            id="sentinel-arm",
            description="Microsoft Sentinel scheduled analytics rule as an ARM template (portal Import)",
            module="taintsigma.export.sentinel_arm", extension="json", separator="\n",
            targets=("sentinel",),
        ),
    )
}  # fmt: skip
# format id -> one-line description (`taintsigma targets` lists these).
FORMAT_DESCRIPTIONS: dict[str, str] = {fmt.id: fmt.description for fmt in FORMATS.values()}


def format_ids() -> tuple[str, ...]:
    """Ids of every export format."""
    return tuple(FORMATS)


def load_format(format_id: str) -> ExportFormat:
    """The export format called ``format_id``; an unknown one raises TargetNotFoundError."""
    try:
        return FORMATS[format_id]
    except KeyError:
        raise TargetNotFoundError(
            unknown_message("export format", format_id, format_ids())
        ) from None
