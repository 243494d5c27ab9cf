"""The native evaluator: Sigma rules compiled (after a pipeline) into in-process matchers.

>>> from taintsigma import load_rules
>>> from taintsigma.evaluate import compile_rules
>>> matcher = compile_rules(load_rules())
>>> [m.rule_id for m in matcher.match({"program": "kernel", "message":
...     "module verification failed: signature and/or required key missing - tainting kernel"})]
['05cad2fb-200c-407f-b472-02ea8c9e5e4a']
"""

from __future__ import annotations

from taintsigma.rules.modifiers import register_modifiers

register_modifiers()

from taintsigma.errors import ErrorPolicy, RuleCompileError
from taintsigma.evaluate.compile import LogSource, Match, RuleMatcher, compile_rule
from taintsigma.evaluate.correlation import CorrelationAlert, CorrelationEngine
from taintsigma.evaluate.prefilter import Prefilter
from taintsigma.evaluate.ruleset import RuleSetMatcher, compile_rules

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
