"""A processed pySigma rule as a plan: plain data (lists, str, int, float, bool, None).

The compiler reads pySigma's objects once, here; the closures are built from the plan alone
(evaluate/build.py), whether the plan was just made or read back from the compiled-rule cache,
so the two cannot diverge. A plan is::

    {"conditions": [top, …], "detections": {name: tree | None}, "added": [name, …],
     "keyword_fields": [field, …] | None}

``top`` (a condition over detections): ``["det", name]``, ``["sel", is_and, [name, …]]`` (a
``1 of``/``all of`` selector, resolved), ``["not", top]``, ``["and"|"or", [top, …]]``. ``tree``
(a detection, postprocessed; None when the pipeline left it empty): ``["and"|"or", [tree,
…]]``, ``["not", tree]``, ``["field", name, [spec, …]]``, ``["kw", [spec, …]]``. Value specs,
OR-linked, expansions and placeholders unrolled:

- ``["str", kind, cased, literal, segments, regex, need]``: a StringPattern
  (evaluate/values.py), ``need`` the longest plain run, case-folded (for the prefilter; ``""``
  when the value has none, a keyword number for example);
- ``["re", source, ""]``: a regular expression, its flags inline;
- ``["num", n, part]``, ``["cmp", op, n, part]`` (``part``: None or ``minute`` … ``year``),
  ``["bool", b]``, ``["cidr", network]``, ``["null"]``, ``["exists", b]``,
  ``["ref", field, starts_with, ends_with]``.

A header (:func:`header_of`) holds what routing and alerts need: id, title, level, tags,
risk score, log source, whether the rule makes alerts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import re2
from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionIdentifier,
    ConditionNOT,
    ConditionOR,
    ConditionSelector,
    ConditionValueExpression,
)
from sigma.rule import SigmaRule
from sigma.types import (
    Placeholder,
    SigmaBool,
    SigmaCasedString,
    SigmaCIDRExpression,
    SigmaCompareExpression,
    SigmaExists,
    SigmaExpansion,
    SigmaFieldReference,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
    SigmaType,
    SpecialChars,
)

from taintsigma.errors import RuleCompileError
from taintsigma.evaluate.compiled import RuleHeader, level_name
from taintsigma.evaluate.values import CompileContext, fold
from taintsigma.rules.loader import rule_id

Plan = dict[str, Any]


def plan_rule(rule: SigmaRule, processed: SigmaRule, ctx: CompileContext) -> Plan:
    """The plan of ``processed`` (``rule`` after the pipeline); raises RuleCompileError."""
    detections = processed.detection.detections
    added = sorted(frozenset(detections) - frozenset(rule.detection.detections))
    trees: dict[str, Any] = {}
    conditions = [
        _top(condition.parse(postprocess=False), processed, ctx, trees)
        for condition in processed.detection.parsed_condition
    ]
    return {
        "conditions": conditions,
        "detections": trees,
        "added": added,
        "keyword_fields": list(ctx.keyword_fields) if ctx.keyword_fields is not None else None,
    }


def header_of(rule: SigmaRule) -> RuleHeader:
    """A rule's header: what an alert says about it and which events it is tried on."""
    from taintsigma.rules.metadata import RISK_SCORES

    level = level_name(rule)
    custom = getattr(rule, "custom_attributes", {}) or {}
    risk = custom.get("risk_score")
    if not isinstance(risk, int):  # as scan/alerts.py's rule_info
        risk = RISK_SCORES.get(level or "")
    source = rule.logsource
    return RuleHeader(
        id=rule_id(rule),
        title=rule.title,
        level=level,
        risk_score=risk,
        tags=tuple(str(tag) for tag in (getattr(rule, "tags", None) or ())),
        category=_text(source.category),
        product=_text(source.product),
        service=_text(source.service),
        output=bool(rule._output),
    )


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _top(tree: Any, rule: SigmaRule, ctx: CompileContext, trees: dict[str, Any]) -> list[Any]:
    if isinstance(tree, ConditionIdentifier):
        _detection(tree.identifier, rule, ctx, trees)
        return ["det", tree.identifier]
    if isinstance(tree, ConditionSelector):
        names = [i.identifier for i in tree.resolve_referenced_detections(rule.detection)]
        for name in names:
            _detection(name, rule, ctx, trees)
        return ["sel", tree.cond_class is ConditionAND, names]
    if isinstance(tree, ConditionNOT):
        return ["not", _top(tree.args[0], rule, ctx, trees)]
    if isinstance(tree, (ConditionAND, ConditionOR)):
        junction = "and" if isinstance(tree, ConditionAND) else "or"
        return [junction, [_top(arg, rule, ctx, trees) for arg in tree.args]]
    raise ctx.error(f"condition element {type(tree).__name__} is not supported")


def _detection(name: str, rule: SigmaRule, ctx: CompileContext, trees: dict[str, Any]) -> None:
    if name in trees:
        return
    detections = rule.detection
    if name not in detections.detections:
        raise ctx.error(f"condition names detection {name!r}, which is not defined")
    tree = detections.detections[name].postprocess(detections, None, rule.source)
    trees[name] = _tree(tree, ctx) if tree is not None else None


def _tree(tree: Any, ctx: CompileContext) -> list[Any]:
    if isinstance(tree, ConditionNOT):
        return ["not", _tree(tree.args[0], ctx)]
    if isinstance(tree, (ConditionAND, ConditionOR)):
        junction = "and" if isinstance(tree, ConditionAND) else "or"
        return [junction, [_tree(arg, ctx) for arg in tree.args]]
    if isinstance(tree, ConditionFieldEqualsValueExpression):
        return ["field", tree.field, [_field_spec(v, ctx) for v in flatten_values([tree.value], ctx)]]
    if isinstance(tree, ConditionValueExpression):
        return ["kw", [_keyword_spec(v, ctx) for v in flatten_values([tree.value], ctx)]]
    raise ctx.error(f"condition element {type(tree).__name__} is not supported")


# --- values --------------------------------------------------------------------------------


def _field_spec(value: SigmaType, ctx: CompileContext) -> list[Any]:
    if isinstance(value, SigmaExists):
        return ["exists", bool(value.exists)]
    if isinstance(value, SigmaFieldReference):
        return ["ref", value.field, bool(value.starts_with), bool(value.ends_with)]
    if isinstance(value, SigmaNull):
        return ["null"]
    if isinstance(value, SigmaString):
        return _string_spec(value, value, ctx)
    if isinstance(value, SigmaRegularExpression):
        return ["re", regex_source(value), ""]
    if isinstance(value, SigmaCompareExpression):
        number = value.number
        return ["cmp", value.op.name.lower(), _number(number.number), _part(number)]
    if isinstance(value, SigmaNumber):
        return ["num", _number(value.number), _part(value)]
    if isinstance(value, SigmaBool):
        return ["bool", bool(value.boolean)]
    if isinstance(value, SigmaCIDRExpression):
        return ["cidr", str(value.network)]
    raise ctx.error(f"value {value!r} of type {type(value).__name__} is not supported")


def _number(number: Any) -> int | float:
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        raise TypeError(f"not a number: {number!r}")
    return number


def _part(number: SigmaNumber) -> str | None:
    if isinstance(number, SigmaTimestampPart):
        return str(number.timestamp_part.name).lower()
    return None


def _keyword_spec(value: SigmaType, ctx: CompileContext) -> list[Any]:
    """A keyword matches anywhere in the searched text (implicit ``*`` on both sides)."""
    original = value
    if isinstance(value, SigmaNumber):
        value = SigmaString(str(value.number))
    if isinstance(value, SigmaString):
        wrapped = value
        if not wrapped.startswith(SpecialChars.WILDCARD_MULTI):
            wrapped = SpecialChars.WILDCARD_MULTI + wrapped
        if not wrapped.endswith(SpecialChars.WILDCARD_MULTI):
            wrapped = wrapped + SpecialChars.WILDCARD_MULTI
        return _string_spec(wrapped, original, ctx)
    if isinstance(value, SigmaRegularExpression):
        return ["re", regex_source(value), ""]
    raise ctx.error(f"keyword value {value!r} ({type(value).__name__}) is not supported")


def _string_spec(value: SigmaString, original: SigmaType, ctx: CompileContext) -> list[Any]:
    """A SigmaString (wildcards ``*``/``?``, escapes already parsed) as a string spec."""
    cased = isinstance(value, SigmaCasedString)
    fold_part: Callable[[str], str] = (lambda s: s) if cased else fold
    parts: list[str | SpecialChars] = []
    for part in value.s:
        if isinstance(part, Placeholder):
            raise _no_placeholder_values(ctx, part.name)
        if isinstance(part, str) and parts and isinstance(parts[-1], str):
            parts[-1] += part
        elif part is SpecialChars.WILDCARD_MULTI and parts and parts[-1] is part:
            continue  # '**' is '*'
        else:
            parts.append(part)
    need = _longest_plain(original) if isinstance(original, SigmaString) else ""
    if SpecialChars.WILDCARD_SINGLE in parts:
        regex = "".join(
            re2.escape(fold_part(p))
            if isinstance(p, str)
            else (".*" if p is SpecialChars.WILDCARD_MULTI else ".")
            for p in parts
        )
        return ["str", "wild", cased, "", [], f"(?s){regex}", need]
    segments: list[str] = [""]
    for p in parts:
        if isinstance(p, str):
            segments[-1] += fold_part(p)
        else:
            segments.append("")
    if len(segments) == 1:
        return ["str", "eq", cased, segments[0], [], "", need]
    if len(segments) == 2 and segments[1] == "":
        return ["str", "prefix", cased, segments[0], [], "", need]
    if len(segments) == 2 and segments[0] == "":
        return ["str", "suffix", cased, segments[1], [], "", need]
    if len(segments) == 3 and segments[0] == segments[2] == "":
        return ["str", "contains", cased, segments[1], [], "", need]
    return ["str", "glob", cased, "", segments, "", need]


def _longest_plain(value: SigmaString) -> str:
    runs = [""]
    for part in value.s:
        if isinstance(part, str):
            runs[-1] += part
        else:
            runs.append("")
    return fold(max(runs, key=len))


def regex_source(value: SigmaRegularExpression) -> str:
    """The pattern text of a ``re`` value, with its ``i``/``m``/``s`` flags inline."""
    flags = "".join(
        letter
        for flag, letter in (
            (SigmaRegularExpressionFlag.IGNORECASE, "i"),
            (SigmaRegularExpressionFlag.MULTILINE, "m"),
            (SigmaRegularExpressionFlag.DOTALL, "s"),
        )
        if flag in value.flags
    )
    pattern = str(value.regexp)
    return f"(?{flags}){pattern}" if flags else pattern


def flatten_values(values: Sequence[SigmaType], ctx: CompileContext) -> list[SigmaType]:
    """OR-linked values: expansions (windash, base64offset) unrolled, placeholders expanded."""
    flat: list[SigmaType] = []
    for value in values:
        if isinstance(value, SigmaExpansion):
            flat.extend(flatten_values(value.values, ctx))
        elif (
            isinstance(value, (SigmaString, SigmaRegularExpression))
            and value.contains_placeholder()
        ):
            flat.extend(flatten_values(value.replace_placeholders(_placeholder_values(ctx)), ctx))
        else:
            flat.append(value)
    return flat


def _placeholder_values(ctx: CompileContext) -> Callable[[Placeholder], list[SigmaString]]:
    def replace(placeholder: Placeholder) -> list[SigmaString]:
        values = ctx.placeholders.get(placeholder.name)
        if values is None:
            raise _no_placeholder_values(ctx, placeholder.name)
        return [SigmaString(str(v)) for v in values]

    return replace


def _no_placeholder_values(ctx: CompileContext, name: str) -> RuleCompileError:
    return ctx.error(
        f"placeholder %{name}% has no values",
        hint=f"pass placeholders={{'{name}': [...]}}",
        cli_hint=f"the command line cannot give placeholder values: replace %{name}% in the rule",
    )


def placeholder_values(vars_: Mapping[str, Any], extra: Mapping[str, list[str]] | None) -> dict:
    """A pipeline's variables and the caller's placeholders, as lists of values."""
    values = {
        k: (v if isinstance(v, list) else [v])
        for k, v in vars_.items()
        if isinstance(v, (list, str, int, float))
    }
    values.update(extra or {})
    return values
