"""taintsigma: convert, export, evaluate and prove Sigma rules for Linux logs, offline.

The plain-function API; nothing heavy is imported until a function is used::

    >>> import taintsigma
    >>> rules = taintsigma.load_rules()              # the bundled rules
    >>> report = taintsigma.convert_rules(rules, "kibana-kql")
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # what type checkers see; at run time each name is imported on first use
    from taintsigma.convert.conversion import Conversion, convert_rule, convert_rules
    from taintsigma.convert.targets import load_target, load_targets, target_ids
    from taintsigma.errors import (
        ErrorPolicy,
        ExportError,
        InputError,
        RuleCompileError,
        RuleLoadError,
        TaintSigmaError,
        TargetNotFoundError,
        TranslationWarning,
        UnsupportedByTarget,
    )
    from taintsigma.evaluate import (
        CorrelationAlert,
        CorrelationEngine,
        LogSource,
        Match,
        Prefilter,
        RuleSetMatcher,
        compile_rules,
    )
    from taintsigma.export.run import export_rule, export_rules
    from taintsigma.logs.event import Event
    from taintsigma.rules.attack import (
        attack_version,
        load_attack,
        map_attack_tags,
        threat_from_tags,
    )
    from taintsigma.rules.check import check_rules
    from taintsigma.rules.loader import LoadedRules, load_rules
    from taintsigma.rules.metadata import load_metadata
    from taintsigma.ruletest import check_samples
    from taintsigma.scan.alerts import Alert
    from taintsigma.scan.run import read_events, scan_events, scan_paths
    from taintsigma.scan.summary import ScanSummary

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    "load_rules": "taintsigma.rules.loader",
    "LoadedRules": "taintsigma.rules.loader",
    "convert_rules": "taintsigma.convert.conversion",
    "convert_rule": "taintsigma.convert.conversion",
    "Conversion": "taintsigma.convert.conversion",
    "check_rules": "taintsigma.rules.check",
    "load_target": "taintsigma.convert.targets",
    "load_targets": "taintsigma.convert.targets",
    "target_ids": "taintsigma.convert.targets",
    "compile_rules": "taintsigma.evaluate",
    "RuleSetMatcher": "taintsigma.evaluate",
    "Match": "taintsigma.evaluate",
    "LogSource": "taintsigma.evaluate",
    "Prefilter": "taintsigma.evaluate",
    "CorrelationEngine": "taintsigma.evaluate",
    "CorrelationAlert": "taintsigma.evaluate",
    "export_rules": "taintsigma.export.run",
    "export_rule": "taintsigma.export.run",
    "load_metadata": "taintsigma.rules.metadata",
    "load_attack": "taintsigma.rules.attack",
    "threat_from_tags": "taintsigma.rules.attack",
    "map_attack_tags": "taintsigma.rules.attack",
    "attack_version": "taintsigma.rules.attack",
    "scan_paths": "taintsigma.scan.run",
    "scan_events": "taintsigma.scan.run",
    "read_events": "taintsigma.scan.run",
    "ScanSummary": "taintsigma.scan.summary",
    "Alert": "taintsigma.scan.alerts",
    "Event": "taintsigma.logs.event",
    "check_samples": "taintsigma.ruletest",
    "InputError": "taintsigma.errors",
    "ErrorPolicy": "taintsigma.errors",
    "TaintSigmaError": "taintsigma.errors",
    "RuleLoadError": "taintsigma.errors",
    "TargetNotFoundError": "taintsigma.errors",
    "UnsupportedByTarget": "taintsigma.errors",
    "RuleCompileError": "taintsigma.errors",
    "ExportError": "taintsigma.errors",
    "TranslationWarning": "taintsigma.errors",
}

__all__ = [
    "Alert",
    "Conversion",
    "CorrelationAlert",
    "CorrelationEngine",
    "ErrorPolicy",
    "Event",
    "ExportError",
    "InputError",
    "LoadedRules",
    "LogSource",
    "Match",
    "Prefilter",
    "RuleCompileError",
    "RuleLoadError",
    "RuleSetMatcher",
    "ScanSummary",
    "TaintSigmaError",
    "TargetNotFoundError",
    "TranslationWarning",
    "UnsupportedByTarget",
    "attack_version",
    "check_rules",
    "check_samples",
    "compile_rules",
    "convert_rule",
    "convert_rules",
    "export_rule",
    "export_rules",
    "load_attack",
    "load_metadata",
    "load_rules",
    "load_target",
    "load_targets",
    "map_attack_tags",
    "read_events",
    "scan_events",
    "scan_paths",
    "target_ids",
    "threat_from_tags",
]  # tests/test_typing.py checks it lists exactly _EXPORTS


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'taintsigma' has no attribute '{name}'")
    return getattr(import_module(module), name)
