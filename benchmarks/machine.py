"""The machine a benchmark ran on, in one line, for the header of its results."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path


def describe() -> str:
    """CPU model, cores, memory, operating system and Python, e.g.

    ``AMD EPYC, 2 cores, 24 GiB RAM; Linux 6.18.44; Python 3.11.7``.
    """
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}"
    )


def installed_like_a_user() -> None:
    """Run taintsigma as an installed copy runs: byte-compiled (this environment may set
    PYTHONDONTWRITEBYTECODE, ~70 ms a process), with a throw-away compiled-rule cache
    (``XDG_CACHE_HOME``) for the benchmark's own runs to fill, never the user's."""
    import compileall
    import tempfile

    import taintsigma as package

    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="taintsigma-bench-cache-")
    compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def ensure_corpus(path: Path, script: str, size_flag: str, size: int) -> dict:
    """Generate ``path`` with ``benchmarks/<script> PATH <size_flag> SIZE`` unless the copy
    there was made with the same size; return the counts the generator printed (JSON).

    The counts are kept beside the corpus (``<path>.json``); generators are deterministic, so
    the same size always gives the same bytes.
    """
    meta = path.with_suffix(path.suffix + ".json")
    if path.exists() and meta.exists():
        counts = json.loads(meta.read_text())
        if counts.get("asked") == size:
            return counts
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve().parent / script), str(path),
         size_flag, str(size)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    counts = json.loads(out.stdout) | {"asked": size}
    meta.write_text(json.dumps(counts))
    return counts
