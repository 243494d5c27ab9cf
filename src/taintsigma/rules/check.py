"""Validate rules: pySigma's own validators (offline ones) plus what conversion needs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sigma.validation import SigmaValidator
from sigma.validators.base import SigmaValidationIssue
from sigma.validators.core import validators as core_validators

from taintsigma.errors import ErrorPolicy, TaintSigmaError
from taintsigma.rules.attack import check_attack_tags
from taintsigma.rules.issues import CheckIssue, rule_issue
from taintsigma.rules.loader import LoadedRules, rule_id, rule_path
from taintsigma.rules.metadata import check_metadata

# These two download MITRE data at run time; taintsigma never touches the network, so ATT&CK
# tags are checked against the bundled snapshot instead (see EXTRA_CHECKS).
NETWORK_VALIDATORS = frozenset({"attacktag", "d3_fendtag"})


@dataclass
class CheckReport:
    """All issues of a validation run; ``ok`` is true when there are none."""

    checked: int = 0
    issues: list[CheckIssue] = field(default_factory=list)
    errors: list[TaintSigmaError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.issues and not self.errors


# Extra checks other modules register (export metadata, offline ATT&CK tags): each takes a rule
# and yields issues.
EXTRA_CHECKS: list[Callable[[object], Iterable[CheckIssue]]] = [check_attack_tags, check_metadata]


def validator_ids() -> list[str]:
    """Ids of the pySigma validators taintsigma runs (all core validators that work offline)."""
    return sorted(v for v in core_validators if v not in NETWORK_VALIDATORS)


def check_rules(rules: LoadedRules, *, on_error: ErrorPolicy = ErrorPolicy.COLLECT) -> CheckReport:
    """Run pySigma's offline validators and taintsigma's own checks over loaded rules.

    >>> from taintsigma import load_rules
    >>> check_rules(load_rules()).ok
    True
    """
    validator = SigmaValidator([core_validators[v] for v in validator_ids()])
    report = CheckReport(errors=list(rules.errors))
    for rule in rules:
        report.checked += 1
        try:
            issues = validator.validate_rule(rule)  # type: ignore[arg-type]  # correlations too
        except Exception as err:  # a validator crashing on a rule is a finding, not a crash
            report.errors.append(
                TaintSigmaError(
                    f"validation failed: {type(err).__name__}: {err}",
                    path=rule_path(rule),
                    rule_id=rule_id(rule),
                )
            )
            continue
        report.issues.extend(_pysigma_issue(rule, issue) for issue in issues)
        for extra in EXTRA_CHECKS:
            report.issues.extend(extra(rule))
    # Checks across rules (such as duplicate ids) report once every rule has been seen.
    report.issues.extend(
        _pysigma_issue(rule, issue) for issue in validator.finalize() for rule in issue.rules
    )
    if on_error is ErrorPolicy.RAISE and report.errors:
        raise report.errors[0]
    return report


def _pysigma_issue(rule: Any, issue: SigmaValidationIssue) -> CheckIssue:
    return rule_issue(
        rule,
        check=type(issue).__name__,
        severity=str(issue.severity.name).lower(),
        message=issue.description,
    )
