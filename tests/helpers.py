"""Small builders for tests: rules from Python dicts instead of pasted YAML."""

from __future__ import annotations

import builtins
import errno
import io
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sigma.rule import SigmaRule


def make_rule(
    detection: dict[str, Any] | None = None,
    condition: str | list[str] = "selection",
    *,
    logsource: dict[str, str] | None = None,
    title: str = "Test rule",
    rule_id: str | None = None,
    **extra: Any,
) -> SigmaRule:
    """Build a SigmaRule from a detection mapping (``condition`` is added to it)."""
    body = dict(detection or {})
    body["condition"] = condition
    return SigmaRule.from_dict(
        {
            "title": title,
            "id": rule_id or str(uuid.uuid4()),
            "status": "test",
            "logsource": logsource or {"product": "linux", "service": "syslog"},
            "detection": body,
            "level": extra.pop("level", "medium"),
            **extra,
        }
    )


@contextmanager
def deny_access(path: Path) -> Iterator[None]:
    """Within the block ``path`` is unreadable, as for a user without permission, even as root.

    Not root: a real ``chmod 000``, restored on exit. Root reads anything whatever its mode, and
    the test interpreter lives where ``nobody`` cannot run it, so as root the calls that read
    files and list folders raise the very error the kernel gives an unprivileged user,
    ``PermissionError(13)``, for that path only.
    """
    target = Path(path)
    mode = target.stat().st_mode
    if os.geteuid() != 0:
        target.chmod(0)
        try:
            yield
        finally:
            target.chmod(mode)
        return

    def guard(real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(first: object = ".", *args: Any, **kwargs: Any) -> Any:
            if isinstance(first, (str, os.PathLike)) and Path(first) == target:
                raise PermissionError(errno.EACCES, "Permission denied", str(first))
            return real(first, *args, **kwargs)

        return wrapper

    with pytest.MonkeyPatch.context() as patch:
        for owner, name in [(os, "scandir"), (os, "listdir"), (builtins, "open"), (io, "open")]:
            patch.setattr(owner, name, guard(getattr(owner, name)))
        patch.setattr(Path, "open", guard(Path.open))
        yield
