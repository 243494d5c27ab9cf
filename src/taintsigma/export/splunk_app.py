"""A Splunk app holding exported savedsearches.conf stanzas, ready for Splunk AppInspect.

>>> from taintsigma import load_rules
>>> from taintsigma.export.run import export_rules
>>> import tempfile, pathlib
>>> report = export_rules(load_rules(), "splunk-savedsearches")
>>> app = write_splunk_app(report, pathlib.Path(tempfile.mkdtemp()))
>>> sorted(p.name for p in (app / "default").iterdir())
['app.conf', 'savedsearches.conf']
"""

from __future__ import annotations

import re
from pathlib import Path

from taintsigma.errors import ExportError
from taintsigma.export.common import ExportReport

DEFAULT_APP_ID = "taintsigma_detections"
_APP_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")
_VERSION = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+")


def write_splunk_app(
    report: ExportReport,
    parent: Path,
    *,
    app_id: str = DEFAULT_APP_ID,
    version: str = "1.0.0",
    label: str = "taintsigma detections",
) -> Path:
    """Write ``parent/<app_id>/`` (app.conf, savedsearches.conf, metadata) and return it.

    The stanzas are the report's packages; the searches are shipped disabled, as exported.
    Raises ExportError for a report of another format, an invalid app id or version.
    """
    if report.format != "splunk-savedsearches":
        raise ExportError(f"a Splunk app holds splunk-savedsearches packages, not {report.format}")
    if not _APP_ID.fullmatch(app_id):
        raise ExportError(f"Splunk app id {app_id!r}: letters, digits, _ . - (a letter first)")
    if not _VERSION.fullmatch(version):
        raise ExportError(f"Splunk app version {version!r}: major.minor.patch")
    app = parent / app_id
    (app / "default").mkdir(parents=True, exist_ok=True)
    (app / "metadata").mkdir(exist_ok=True)
    app_conf = (
        f"[id]\nname = {app_id}\nversion = {version}\n\n"
        f"[launcher]\nauthor = taintsigma\ndescription = Detections exported by taintsigma\n"
        f"version = {version}\n\n"
        f"[package]\nid = {app_id}\ncheck_for_updates = false\n\n"
        f"[ui]\nis_visible = false\nlabel = {label}\n\n"
        "[install]\nis_configured = false\n"
    )
    (app / "default" / "app.conf").write_text(app_conf, encoding="utf-8")
    (app / "default" / "savedsearches.conf").write_text(report.text() + "\n", encoding="utf-8")
    # Readable by everyone, writable by admins (sc_admin on Splunk Cloud).
    meta = "[]\naccess = read : [ * ], write : [ admin, sc_admin ]\nexport = system\n"
    (app / "metadata" / "default.meta").write_text(meta, encoding="utf-8")
    return app
