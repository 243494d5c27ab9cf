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
    "load_rules": "taintsigma.rules",
    "LoadedRules": "taintsigma.rules",
    "convert_rules": "taintsigma.convert",
    "convert_rule": "taintsigma.convert",
    "Conversion": "taintsigma.convert",
    "check_rules": "taintsigma.check",
    "load_target": "taintsigma.targets",
    "load_targets": "taintsigma.targets",
    "target_ids": "taintsigma.targets",
    "compile_rules": "taintsigma.evaluate",
    "RuleSetMatcher": "taintsigma.evaluate",
    "Match": "taintsigma.evaluate",
    "LogSource": "taintsigma.evaluate",
    "Prefilter": "taintsigma.evaluate",
    "CorrelationEngine": "taintsigma.evaluate",
    "CorrelationAlert": "taintsigma.evaluate",
    "export_rules": "taintsigma.export",
    "export_rule": "taintsigma.export",
    "load_metadata": "taintsigma.metadata",
    "load_attack": "taintsigma.attack",
    "threat_from_tags": "taintsigma.attack",
    "map_attack_tags": "taintsigma.attack",
    "attack_version": "taintsigma.attack",
    "scan_paths": "taintsigma.scan",
    "scan_events": "taintsigma.scan",
    "read_events": "taintsigma.scan",
    "ScanSummary": "taintsigma.scan",
    "Alert": "taintsigma.alerts",
    "Event": "taintsigma.adapters.event",
    "check_samples": "taintsigma.testing",
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
