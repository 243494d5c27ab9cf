"""The native evaluator: Sigma rules compiled (after a pipeline) into in-process matchers.

>>> from taintsigma import load_rules
>>> from taintsigma.evaluate import compile_rules
>>> matcher = compile_rules(load_rules())
>>> [m.rule_id for m in matcher.match({"program": "kernel", "message":
...     "module verification failed: signature and/or required key missing - tainting kernel"})]
['05cad2fb-200c-407f-b472-02ea8c9e5e4a']

Names are imported on first use: running compiled rules (a scan served by the compiled-rule
cache) never imports pySigma; compiling does.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taintsigma.errors import ErrorPolicy, RuleCompileError
    from taintsigma.evaluate.compile import LogSource, Match, RuleMatcher, compile_rule
    from taintsigma.evaluate.correlation import CorrelationAlert, CorrelationEngine
    from taintsigma.evaluate.prefilter import Prefilter
    from taintsigma.evaluate.ruleset import RuleSetMatcher, compile_rules

# public name -> module that defines it (compile_rule registers taintsigma's modifiers)
_EXPORTS: dict[str, str] = {
    "CorrelationAlert": "taintsigma.evaluate.correlation",
    "CorrelationEngine": "taintsigma.evaluate.correlation",
    "ErrorPolicy": "taintsigma.errors",
    "LogSource": "taintsigma.evaluate.compiled",
    "Match": "taintsigma.evaluate.compiled",
    "Prefilter": "taintsigma.evaluate.prefilter",
    "RuleCompileError": "taintsigma.errors",
    "RuleMatcher": "taintsigma.evaluate.compiled",
    "RuleSetMatcher": "taintsigma.evaluate.ruleset",
    "compile_rule": "taintsigma.evaluate.compile",
    "compile_rules": "taintsigma.evaluate.ruleset",
}

__all__ = [
    "CorrelationAlert",
    "CorrelationEngine",
    "ErrorPolicy",
    "LogSource",
    "Match",
    "Prefilter",
    "RuleCompileError",
    "RuleMatcher",
    "RuleSetMatcher",
    "compile_rule",
    "compile_rules",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'taintsigma.evaluate' has no attribute '{name}'")
    if name == "compile_rules":
        # Rules parsed by the caller (SigmaCollection.from_yaml) need taintsigma's modifiers.
        import_module("taintsigma.evaluate.compile")
    return getattr(import_module(module), name)
