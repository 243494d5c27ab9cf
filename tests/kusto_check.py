"""Microsoft's Kusto parser and binder over queries, for tests (tests/engines/kusto/check.js).

``kusto_diagnostics(queries)`` returns, per query, the diagnostics of
``@kusto/language-service-next`` bound to the schemas of the tables Sentinel queries read:
the ASIM parsers and Defender XDR tables (from pySigma's Kusto backend, its tables.py) and the
``Syslog`` table (Microsoft's Azure Monitor Logs table reference). ``skip_reason()`` says why
the check cannot run here (no node, or the npm package not installed: ``.ci/run`` installs
it), else None.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterable
from functools import cache
from pathlib import Path

ENGINE = Path(__file__).parent / "engines" / "kusto"
PACKAGE = ENGINE / "node_modules" / "@kusto" / "language-service-next"

# learn.microsoft.com/azure/azure-monitor/reference/tables/syslog
SYSLOG_SCHEMA = (
    "(TenantId:string, SourceSystem:string, TimeGenerated:datetime, Computer:string, "
    "EventTime:datetime, Facility:string, HostName:string, SeverityLevel:string, "
    "SyslogMessage:string, ProcessID:int, HostIP:string, ProcessName:string, MG:string, "
    "CollectorHostName:string, Type:string, _ResourceId:string)"
)

# ASIM schema documents name types in prose; the parsers' columns are these Kusto types.
_ASIM_TYPES = {
    "integer": "int",
    "long": "long",
    "boolean": "bool",
    "datetime": "datetime",
    "date/time": "datetime",
    "latitude": "real",
    "longitude": "real",
}


def skip_reason() -> str | None:
    """Why the Kusto check cannot run here, or None."""
    if shutil.which("node") is None:
        return "node is not installed (runs Microsoft's Kusto language service)"
    if not PACKAGE.is_dir():
        return "npm @kusto/language-service-next is not installed: cd tests/engines/kusto && npm ci"
    return None


@cache
def sentinel_tables() -> dict[str, str]:
    """``{table: "(column:type, …)"}`` for every table a Sentinel query may start with."""
    from sigma.pipelines.microsoftxdr.tables import MICROSOFT_XDR_TABLES
    from sigma.pipelines.sentinelasim.tables import SENTINEL_ASIM_TABLES

    tables = {"Syslog": SYSLOG_SCHEMA}
    for name, columns in SENTINEL_ASIM_TABLES.items():
        tables[name] = _schema(
            {c: _ASIM_TYPES.get(str(s["data_type"]).lower(), "string") for c, s in columns.items()}
        )
    for name, columns in MICROSOFT_XDR_TABLES.items():
        tables[name] = _schema(
            {c: {"boolean": "bool"}.get(s["data_type"], s["data_type"]) for c, s in columns.items()}
        )
    return tables


def _schema(columns: dict[str, str]) -> str:
    return "(" + ", ".join(f"['{c}']:{t}" for c, t in columns.items()) + ")"


def kusto_diagnostics(
    queries: Iterable[str], tables: dict[str, str] | None = None
) -> list[list[str]]:
    """Each query's diagnostics (``"Error: message (at offset)"``); empty lists: all bound."""
    request = {"tables": tables or sentinel_tables(), "queries": list(queries)}
    out = subprocess.run(
        ["node", str(ENGINE / "check.js")],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    ).stdout
    return json.loads(out)
