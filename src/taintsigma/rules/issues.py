"""The issue type every rule check shares (pySigma validators, ATT&CK tags, export metadata)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, kw_only=True)
class CheckIssue:
    """One problem found in one rule: which rule, which check, what is wrong."""

    rule_id: str
    path: str | None
    check: str
    severity: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"{where}rule {self.rule_id}: {self.severity}: {self.message} [{self.check}]"


def rule_issue(rule: Any, *, check: str, severity: str, message: str) -> CheckIssue:
    """Return the CheckIssue of ``check`` for ``rule``, naming the rule's id and file."""
    from taintsigma.rules.loader import rule_id, rule_path  # pySigma: only to check rules

    path = rule_path(rule)
    return CheckIssue(
        rule_id=rule_id(rule),
        path=str(path) if path else None,
        check=check,
        severity=severity,
        message=message,
    )
