"""The documentation site: `mkdocs build --strict` passes, and Chromium renders a rule page."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from regen_golden import GOLDEN, REPO

pytest.importorskip("mkdocs", reason="mkdocs is a test dependency: pip install -e '.[test]'")
pytest.importorskip("material", reason="mkdocs-material is a test dependency")

STEM = "tainted_kernel_module_load"
# The flagship's query in every target, as the goldens hold it.
QUERIES = {
    "kibana-kql": "kql",
    "lucene": "lucene",
    "eql": "eql",
    "esql": "esql",
    "splunk": "spl",
    "sentinel": "kusto",
}
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    done = build(REPO / "mkdocs.yml", folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_site_builds_strictly_with_every_generated_page(site: Path) -> None:
    rules = sorted(p.stem for p in (REPO / "sigma_rules").glob("*.yml"))
    assert sorted(p.name for p in (site / "rules").iterdir() if p.is_dir()) == rules
    cli = (site / "cli" / "index.html").read_text(encoding="utf-8")
    for command in ("convert", "export", "scan", "check", "test", "coverage", "targets"):
        assert f"taintsigma {command}" in cli
    assert "Write an ATT&amp;CK Navigator layer" in cli  # click's own help text of coverage
    # ../backends/README.md of docs/ resolves to a copy in the site
    assert (site / "repo" / "backends" / "index.html").is_file()  # README.md is a folder index


def test_a_broken_link_fails_the_strict_build(tmp_path: Path) -> None:
    shutil.copy(REPO / "mkdocs.yml", tmp_path / "mkdocs.yml")
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    (tmp_path / "scripts").mkdir()
    shutil.copy(REPO / "scripts" / "mkdocs_hooks.py", tmp_path / "scripts" / "mkdocs_hooks.py")
    (tmp_path / "backends").mkdir()
    shutil.copy(REPO / "backends" / "README.md", tmp_path / "backends" / "README.md")
    with (tmp_path / "docs" / "taxonomy.md").open("a", encoding="utf-8") as page:
        page.write("\nSee [the missing page](no-such-page.md).\n")
    done = build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert done.returncode != 0
    assert "no-such-page.md" in done.stderr


def test_chromium_renders_the_flagship_queries_of_every_target(site: Path, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    page = site / "rules" / STEM / "index.html"
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
         page.as_uri()],  # fmt: skip
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    # The rendered DOM's text: tags dropped (code highlighting splits a query into spans).
    text = html.unescape(re.sub(r"<[^>]+>", "", done.stdout))
    for target_id, extension in QUERIES.items():
        query = (GOLDEN / target_id / f"{STEM}.{extension}").read_text(encoding="utf-8").strip()
        assert query in text, target_id
        assert f'id="query-{target_id}"' in done.stdout
    assert "Investigating Tainted Kernel Module Load" in text
    assert "T1547.006 Kernel Modules and Extensions" in text and "T1014 Rootkit" in text
    assert "positive/syslog-rfc3164.log" in text  # the sample events
