"""A compiled rule: its header and plan (plain data), and the closures built from the plan.

Nothing here imports pySigma: a rule set read back from the compiled-rule cache is built by
:func:`build_rule` alone, exactly as :func:`taintsigma.evaluate.compile.compile_rule` builds a
freshly planned one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from taintsigma.evaluate.matchers import Compiled, Node, combine, compile_condition
from taintsigma.evaluate.values import CompileContext


@dataclass(frozen=True)
class LogSource:
    """The log source of an event, in Sigma's terms; None parts are unknown.

    A rule is tried on an event only if every part the rule's ``logsource`` names equals the
    event's (case-insensitive): a ``product: linux`` rule runs on
    ``LogSource(product="linux", service="syslog")`` events, a ``service: auditd`` one does not.
    """

    category: str | None = None
    product: str | None = None
    service: str | None = None

    def admits(self, rule: Any) -> bool:
        """True when ``rule``'s log source (a pySigma rule's, or a RuleHeader's) is
        compatible with this event log source."""
        for part in ("category", "product", "service"):
            wanted = getattr(rule.logsource, part)
            if wanted is not None:
                mine = getattr(self, part)
                if mine is None or mine.lower() != str(wanted).lower():
                    return False
        return True


@dataclass(frozen=True, kw_only=True)
class RuleHeader:
    """What routing and alerts need of a rule, as plain data (see evaluate/plan.py)."""

    id: str
    title: str
    level: str | None
    risk_score: int | None
    tags: tuple[str, ...] = ()
    category: str | None = None
    product: str | None = None
    service: str | None = None
    output: bool = True

    @property
    def logsource(self) -> LogSource:
        """The rule's ``logsource`` (the parts it names; None for the others)."""
        return LogSource(category=self.category, product=self.product, service=self.service)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id, "title": self.title, "level": self.level,
            "risk_score": self.risk_score, "tags": list(self.tags), "category": self.category,
            "product": self.product, "service": self.service, "output": self.output,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RuleHeader:
        """The header :meth:`to_dict` wrote; raises TypeError or KeyError on anything else."""
        texts = ("id", "title")
        optional = ("level", "category", "product", "service")
        if any(type(data[k]) is not str for k in texts) or any(
            data[k] is not None and type(data[k]) is not str for k in optional
        ):
            raise TypeError("header: a text field is not text")
        risk, tags, output = data["risk_score"], data["tags"], data["output"]
        if risk is not None and type(risk) not in (int, bool):
            raise TypeError("header: risk_score is not a number")
        if type(tags) is not list or any(type(t) is not str for t in tags):
            raise TypeError("header: tags are not a list of text")
        if type(output) is not bool:
            raise TypeError("header: output is not a boolean")
        return cls(
            id=data["id"], title=data["title"], level=data["level"], risk_score=risk,
            tags=tuple(tags), category=data["category"], product=data["product"],
            service=data["service"], output=output,
        )  # fmt: skip


_NEW = object.__new__


@dataclass(frozen=True)
class Match:
    """One rule matching one event.

    ``matched`` names the rule's detections (identifiers of its ``detection`` section) that
    matched the event; ``output`` is False for a rule that only feeds a correlation rule
    (``generate: false``), whose own matches are not alerts. ``rule`` is the pySigma rule, or
    the rule's RuleHeader when the compiled rules came from the compiled-rule cache.
    """

    rule_id: str
    title: str
    level: str | None
    tags: list[str]
    rule: Any = field(compare=False, repr=False)
    matched: tuple[str, ...] = ()
    output: bool = True
    header: RuleHeader | None = field(default=None, compare=False, repr=False)


@dataclass
class RuleMatcher:
    """One compiled rule: its closure, its detections' closures, its header and plan.

    ``rule`` and ``processed`` are the pySigma rule before and after the pipeline; both are
    None for a rule read back from the compiled-rule cache.
    """

    rule: Any
    processed: Any
    rule_id: str
    node: Node
    detections: dict[str, Node]
    keyword_fields: tuple[str, ...] | None
    added_detections: frozenset[str]
    ctx: CompileContext = field(repr=False)
    header: RuleHeader = field(repr=False)
    plan: dict[str, Any] = field(repr=False)
    # The detections every matching event matches, when the condition is one detection or
    # an AND of detections (see _sure_matches); None: to_match evaluates each.
    sure: tuple[str, ...] | None = field(default=None, repr=False)

    def matches(self, event: Mapping[str, Any]) -> bool:
        """True when the rule matches ``event``."""
        return self.node(event, {})

    def to_match(self, event: Mapping[str, Any], memo: dict) -> Match:
        matched = self.sure
        if matched is None:
            matched = tuple(
                name
                for name, node in self.detections.items()
                if not name.startswith("_") and node(event, memo)
            )
        header = self.header
        # Match's own __init__, frozen, sets its eight fields one object.__setattr__ call
        # each (~1.7 us, most of a match's cost): the same fields, set in one update.
        found = _NEW(Match)
        found.__dict__.update(
            rule_id=self.rule_id,
            title=header.title,
            level=header.level,
            tags=list(header.tags),
            rule=self.rule if self.rule is not None else header,
            matched=matched,
            output=header.output,
            header=header,
        )
        return found


def level_name(rule: Any) -> str | None:
    """A rule's ``level`` as lower-case text (``"high"``), None when it has none."""
    level = getattr(rule, "level", None)
    return level.name.lower() if level is not None else None


def build_rule(
    header: RuleHeader,
    plan: dict[str, Any],
    ctx: CompileContext,
    *,
    rule: Any = None,
    processed: Any = None,
) -> RuleMatcher:
    """The RuleMatcher of a plan: the one builder of compiled closures.

    Raises RuleCompileError for what the plan asks that cannot run (an RE2-refused regex),
    and TypeError, ValueError, KeyError or IndexError for a damaged plan.
    """
    trees = plan["detections"]
    if type(trees) is not dict:
        raise TypeError("plan: detections are not a mapping")
    added = frozenset(plan["added"])
    compiled: dict[str, Compiled | None] = {}

    def detection(name: str) -> Compiled | None:
        if name not in compiled:
            tree = trees[name]
            compiled[name] = compile_condition(tree, ctx) if tree is not None else None
        return compiled[name]

    tops = [_top(condition, detection, added, ctx) for condition in plan["conditions"]]
    kept = [top for top in tops if top is not None]
    if not kept:
        raise ctx.error("the condition selects no detection")
    detections = {k: v.node for k, v in compiled.items() if v is not None}
    return RuleMatcher(
        rule=rule,
        processed=processed,
        rule_id=header.id,
        node=combine(False, kept).node,
        detections=detections,
        keyword_fields=ctx.keyword_fields,
        added_detections=added,
        ctx=ctx,
        header=header,
        plan=plan,
        sure=_sure_matches(plan["conditions"], detections),
    )


def _sure_matches(conditions: list[Any], detections: dict[str, Any]) -> tuple[str, ...] | None:
    """The rule's own detections (not the pipeline's ``_…``), in ``detections`` order, when
    the condition is one detection or an AND of detections: an event the rule matches then
    matches every one of them. None for any other condition."""
    if len(conditions) != 1:
        return None
    named: set[str] = set()
    todo = [conditions[0]]
    while todo:
        tree = todo.pop()
        if tree[0] == "det":
            named.add(tree[1])
        elif tree[0] == "and":
            todo.extend(tree[1])
        else:
            return None
    if not named <= detections.keys():
        return None  # a detection the pipeline emptied: evaluate as before
    return tuple(name for name in detections if not name.startswith("_") and name in named)


def _top(tree: Any, detection: Any, added: frozenset[str], ctx: CompileContext) -> Compiled | None:
    """A condition over detections (identifiers, selectors, and/or/not).

    Mirrors pySigma's postprocessing: a selector naming no detection, or a detection left
    empty by the pipeline, drops out of its parent.
    """
    kind = tree[0]
    if kind == "det":
        return detection(_name(tree[1]))
    if kind == "sel":
        parts = [(n, detection(_name(n))) for n in tree[2]]
        return _combine_ordered(bool(tree[1]), parts, added)
    if kind == "not":
        operand = _top(tree[1], detection, added, ctx)
        if operand is None:
            return None
        inner = operand.node
        return Compiled(lambda event, memo: not inner(event, memo), operand.cost)
    if kind in ("and", "or"):
        parts = [
            (arg[1] if arg[0] == "det" else "", _top(arg, detection, added, ctx)) for arg in tree[1]
        ]
        return _combine_ordered(kind == "and", parts, added)
    raise ctx.error(f"condition element {kind!r} is not supported")


def _name(name: Any) -> str:
    if type(name) is not str:
        raise TypeError("plan: a detection name is not text")
    return name


def _combine_ordered(
    conjunction: bool, parts: list[tuple[str, Compiled | None]], added: frozenset[str]
) -> Compiled | None:
    # Conditions a pipeline adds (host.os.type, event.dataset) hold for every routed event:
    # they run last, after the rule's own, more selective detections.
    kept = [(name in added, c.cost, i, c) for i, (name, c) in enumerate(parts) if c is not None]
    if not kept:
        return None
    return combine(conjunction, [c for *_, c in sorted(kept, key=lambda k: k[:3])])
