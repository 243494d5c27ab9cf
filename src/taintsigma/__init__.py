"""taintsigma: convert, export, evaluate and prove Sigma rules for Linux logs, offline.

The plain-function API; nothing heavy is imported until a function is used::

    >>> import taintsigma
    >>> rules = taintsigma.load_rules()              # the bundled rules
    >>> report = taintsigma.convert_rules(rules, "kibana-kql")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

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
    "ScanSummary": "taintsigma.scan.run",
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

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'taintsigma' has no attribute '{name}'")
    return getattr(import_module(module), name)
