"""A compiled rule set: events routed by log source, rules skipped when their literals are absent."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MethodType
from typing import TYPE_CHECKING, Any

import re2

from taintsigma.errors import ErrorPolicy, RuleCompileError
from taintsigma.evaluate.compiled import LogSource, Match, RuleMatcher
from taintsigma.evaluate.fields import MISSING, as_text, compile_getter
from taintsigma.evaluate.prefilter import ANYWHERE, Prefilter, build_prefilter, rule_requirement
from taintsigma.evaluate.values import fold
from taintsigma.rules.batch import gc_paused

if TYPE_CHECKING:  # pySigma is imported only to compile rules, never to run compiled ones
    from sigma.collection import SigmaCollection
    from sigma.processing.pipeline import ProcessingPipeline

    from taintsigma.evaluate.correlation import CorrelationEngine
    from taintsigma.rules.loader import LoadedRules

_INDEX_FROM = 3  # routes with fewer rules run them directly: an index would cost more
_SET_FROM = 24  # literals per field from which one RE2 set search beats a loop of `in`


@dataclass
class _FieldIndex:
    """The literals rules need in one field, and which rules need each."""

    name: str
    literals: list[str]
    rules: list[tuple[int, ...]]

    def __post_init__(self) -> None:
        self.get = compile_getter(self.name)
        # ``find(text)`` lists the positions of the literals in a text; ``caseless`` finders
        # take ASCII text as it is (no lower-casing), the others lower-cased text.
        self.caseless = len(self.literals) >= _SET_FROM
        if not self.caseless:
            pairs = list(enumerate(self.literals))
            self.find = lambda text: [i for i, lit in pairs if lit in text]
            return
        # RE2 sets report every literal present in one pass; a set too big for RE2's memory
        # budget is split in halves until each part compiles.
        finders = _set_finders(list(enumerate(self.literals)))
        if len(finders) == 1:
            (only,) = finders
            self.find = only
        else:
            self.find = lambda text: [i for find in finders for i in find(text)]

    def probe(self, event: Mapping[str, Any], memo: dict) -> str:
        """The text to give ``find``: ASCII text unchanged for caseless finders."""
        return self.probe_value(self.get(event), memo)

    def probe_value(self, value: Any, memo: dict) -> str:
        """As :meth:`probe`, for the field's value already read from the event."""
        if self.caseless and type(value) is str and value.isascii():
            return value
        return self.text_of(value, memo)

    def gated(
        self,
        then: Callable[[Mapping[str, Any]], list],
        source: Any = None,
        other: Callable[[Mapping[str, Any], Any], list[Any]] | None = None,
    ) -> Callable[..., list]:
        """``then(event)`` when the field holds one of the literals (lower-cased), else ``[]``.

        The test is inlined in the returned function (one call for an event it turns away,
        the common case). ASCII text is searched as it is, case-insensitively, and text
        shorter than every literal is not searched at all: lower-casing ASCII keeps its length.
        A single literal's longest run of two or more characters that are no ASCII letters
        (``" - "`` in the flagship's phrase) is looked for first, case-sensitively: ASCII text
        holding the literal holds that run as it is (folding ASCII changes letters only).

        The function takes ``(event, logsource)``: called with another log source it hands
        the event to ``other(event, logsource)``, so that it can serve as
        ``RuleSetMatcher.match`` itself (see :meth:`_Route.entry`); as that, its log source
        defaults to None like ``match``'s (every rule), else to ``source``.
        """
        default = None if other is not None else source
        get, literals = self.get, tuple(self.literals)
        shortest = min(map(len, literals))
        search = re.compile("|".join(map(re.escape, literals)), re.IGNORECASE).search
        # "" is in every text: no anchor test for several literals or a letters-only one.
        anchor = _anchor(literals[0]) if len(literals) == 1 else ""
        text = self.text

        def slow(event: Mapping[str, Any]) -> bool:
            lowered = text(event, {})
            return any(literal in lowered for literal in literals)

        if "." in self.name:

            def run_gated(event: Mapping[str, Any], logsource: Any = default) -> list:
                if logsource is not source:
                    return other(event, logsource)  # type: ignore[misc]
                value = get(event)
                if type(value) is str and value.isascii():
                    if len(value) < shortest or anchor not in value or search(value) is None:
                        return []
                elif not slow(event):
                    return []
                return then(event)

            return run_gated
        name = self.name

        def run_gated_plain(event: Mapping[str, Any], logsource: Any = default) -> list:
            if logsource is not source:
                return other(event, logsource)  # type: ignore[misc]
            value = event.get(name)  # a top-level field: no getter call
            if type(value) is str and value.isascii():
                if len(value) < shortest or anchor not in value or search(value) is None:
                    return []
            elif not slow(event):
                return []
            return then(event)

        return run_gated_plain

    def text(self, event: Mapping[str, Any], memo: dict) -> str:
        return self.text_of(self.get(event), memo)

    def text_of(self, value: Any, memo: dict) -> str:
        """The field's value as lower-cased text (a list's items one per line; memoised)."""
        if type(value) is str:
            lowered = memo.get(self.name)
            if lowered is None:
                lowered = memo[self.name] = fold(value)
            return lowered
        if value is MISSING or value is None:
            return ""
        items = value if isinstance(value, list) else [value]
        return "\n".join(fold(t) for t in map(as_text, items) if t is not None)


def _anchor(literal: str) -> str:
    """The literal's longest run of characters that are no ASCII letters, if 2 or more long."""
    longest = max(re.findall(r"[^A-Za-z]+", literal), key=len, default="")
    return longest if len(longest) >= 2 else ""


def _set_finders(pairs: list[tuple[int, str]]) -> list[Callable[[str], Sequence[int]]]:
    """Caseless RE2 set searches for the literals, as few as RE2's memory budget allows."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 64 << 20
    options.case_sensitive = False
    searcher = re2.Set.SearchSet(options)
    for _, literal in pairs:
        searcher.Add(re2.escape(literal))
    try:
        searcher.Compile()
    except re2.error:
        if len(pairs) == 1:
            ((position, literal),) = pairs
            return [lambda text: (position,) if literal in fold(text) else ()]
        half = len(pairs) // 2
        return _set_finders(pairs[:half]) + _set_finders(pairs[half:])
    match = searcher._set.Match  # the binding itself: the wrapper would re-check the type
    positions = [position for position, _ in pairs]

    def find(text: str) -> list[int]:
        return [positions[i] for i in match(text.encode("utf-8", "surrogatepass")) or ()]

    return [find]


class _Route:
    """The rules admitted for one log source, with their shared literal index."""

    def __init__(self, rules: Sequence[RuleMatcher], needs: Sequence[Any]) -> None:
        # This route's runner as RuleSetMatcher.match for its log source (see entry()).
        self._entry: Callable[..., list[Match]] | None = None
        self.rules = list(rules)
        self.always: tuple[int, ...] = ()
        self.fields: list[_FieldIndex] = []
        self.gate: _FieldIndex | None = None
        if len(self.rules) < _INDEX_FROM:
            self.always = tuple(range(len(self.rules)))
            need = needs[0] if len(self.rules) == 1 else None
            if need and len({f for f, _ in need}) == 1 and len(need) <= 4:
                (name,) = {f for f, _ in need}
                if name != ANYWHERE:
                    index = _FieldIndex(name, sorted(lit for _, lit in need), [(0,)] * len(need))
                    self.gate = index
            self.run = self._runner()
            return
        always: list[int] = []
        by_field: dict[str, dict[str, set[int]]] = {}
        for position, need in enumerate(needs):
            if need is None or any(f == ANYWHERE for f, _ in need):
                always.append(position)
                continue
            for field_name, literal in need:
                by_field.setdefault(field_name, {}).setdefault(literal, set()).add(position)
        self.always = tuple(always)
        for name, literals in by_field.items():
            ordered = sorted(literals)
            self.fields.append(
                _FieldIndex(name, ordered, [tuple(sorted(literals[lit])) for lit in ordered])
            )
        self.run = self._runner()

    def entry(
        self, source: Any, other: Callable[[Mapping[str, Any], Any], list[Match]]
    ) -> Callable[..., list[Match]]:
        """This route as a match function ``(event, logsource)`` for events of ``source``:
        their rules run with no call in between; events of any other log source go to
        ``other(event, logsource)``. Built on first use; a route has one log source."""
        if self._entry is None:
            self._entry = self._runner(source, other)
        return self._entry

    def _runner(
        self,
        source: Any = None,
        other: Callable[[Mapping[str, Any], Any], list[Match]] | None = None,
    ) -> Callable[..., list[Match]]:
        """The per-event function of this route, specialised to its shape; with ``other``, as
        :meth:`entry` describes (the literal gate checks the log source itself)."""
        if other is not None and self.gate is None:
            run = self._runner()

            # The default is match's own: None (every rule), not this route's log source.
            def run_for(event: Mapping[str, Any], logsource: Any = None) -> list[Match]:
                if logsource is source:
                    return run(event)
                return other(event, logsource)

            return run_for
        rules = self.rules
        if not rules:
            return lambda event: []
        if len(rules) == 1:
            (only,) = rules
            node, to_match = only.node, only.to_match

            def run_one(event: Mapping[str, Any]) -> list[Match]:
                memo: dict = {}
                if node(event, memo):
                    return [to_match(event, memo)]
                return []

            if self.gate is not None:
                # One rule needing a literal in one field: look for it before anything else.
                return self.gate.gated(run_one, source, other)
            return run_one
        if not self.fields:

            def run_all(event: Mapping[str, Any]) -> list[Match]:
                memo: dict = {}
                return [rule.to_match(event, memo) for rule in rules if rule.node(event, memo)]

            return run_all
        always = self.always
        # A top-level field the event does not have holds no literal: only the event's own
        # keys are probed (an auditd route indexes a dozen fields, a record has a few).
        plain = {index.name: index for index in self.fields if "." not in index.name}
        plain_names = plain.keys()
        dotted = [index for index in self.fields if "." in index.name]

        def run_indexed(event: Mapping[str, Any]) -> list[Match]:
            memo: dict = {}
            chosen = set(always)
            for index in dotted:
                for hit in index.find(index.probe(event, memo)):
                    chosen.update(index.rules[hit])
            for name in plain_names & event.keys():
                index = plain[name]
                for hit in index.find(index.probe_value(event[name], memo)):
                    chosen.update(index.rules[hit])
            found = []
            for position in sorted(chosen):
                rule = rules[position]
                if rule.node(event, memo):
                    found.append(rule.to_match(event, memo))
            return found

        return run_indexed


@dataclass
class RuleSetMatcher:
    """Compiled rules, built once by :func:`compile_rules`, called once per event.

    ``errors`` lists ``(rule_id, RuleCompileError)`` for rules skipped under
    ``ErrorPolicy.COLLECT``; ``correlations`` is the engine for the set's correlation rules.
    """

    rules: list[RuleMatcher]
    errors: list[tuple[str, RuleCompileError]] = field(default_factory=list)
    correlation_rules: list[Any] = field(default_factory=list)
    _routes: dict[LogSource | None, _Route] = field(default_factory=dict, repr=False)
    _needs: list[Any] | None = field(default=None, repr=False)
    _engine: CorrelationEngine | None = field(default=None, repr=False)
    # (log source, its route's runner) of the last call: adapters pass the same LogSource
    # object every time; one tuple, so that threads always read a consistent pair
    _last: tuple[Any, Any] = field(default=(object(), None), repr=False)

    def match(self, event: Mapping[str, Any], logsource: LogSource | None = None) -> list[Match]:
        """The rules matching ``event``, in rule order.

        With ``logsource``, only rules whose log source it admits are tried; with None every
        rule is (events with no log source, already in the rules' own field names). After
        the first call ``matcher.match`` is that log source's runner (same verdicts, one
        Python call per event); it hands events of any other log source back to this method.

        >>> matcher = compile_rules(load_rules())  # doctest: +SKIP
        >>> matcher.match({"program": "kernel", "message": "…tainting kernel"})  # doctest: +SKIP
        [Match(rule_id='05cad2fb-…', title='Tainted Kernel Module Load', …)]
        """
        last = self._last
        if last[0] is logsource:
            return last[1](event)
        route = self._routes.get(logsource)
        if route is None:
            route = self._route(logsource)
        self._last = (logsource, route.run)
        # From now on ``self.match`` is this log source's runner itself, which hands events of
        # other log sources back to this method: one Python call per event where there were
        # two (a caller holding this bound method still gets the path above).
        vars(self)["match"] = route.entry(logsource, MethodType(RuleSetMatcher.match, self))
        return route.run(event)

    def _route(self, logsource: LogSource | None) -> _Route:
        needs = self._rule_needs()
        chosen = [
            i for i, r in enumerate(self.rules) if logsource is None or logsource.admits(r.header)
        ]
        route = _Route([self.rules[i] for i in chosen], [needs[i] for i in chosen])
        self._routes[logsource] = route
        return route

    def _rule_needs(self) -> list[Any]:
        if self._needs is None:
            self._needs = [rule_requirement(r, indexed=True) for r in self.rules]
        return self._needs

    def literal_prefilter(
        self, fields: Collection[str] | None = None, *, json_escaped: bool = False
    ) -> Prefilter | None:
        """Literals an input adapter can use to skip raw lines; None if no rule has one.

        ``fields``: the event fields whose values appear verbatim in the raw line;
        ``json_escaped``: the lines are JSON (see
        :func:`taintsigma.evaluate.prefilter.build_prefilter`).
        """
        return build_prefilter(self.rules, fields, json_escaped=json_escaped)

    @property
    def correlations(self) -> CorrelationEngine:
        """The CorrelationEngine of this set's correlation rules (created on first use).

        It keeps the state of one event stream; :meth:`new_correlation_engine` starts another.
        """
        if self._engine is None:
            self._engine = self.new_correlation_engine()
        return self._engine

    def new_correlation_engine(self) -> CorrelationEngine:
        """A fresh CorrelationEngine (empty windows) for this set's correlation rules."""
        from taintsigma.evaluate.correlation import CorrelationEngine

        return CorrelationEngine(self.correlation_rules)

    def __len__(self) -> int:
        return len(self.rules)


@gc_paused()  # compiling builds many long-lived objects: see rules/batch.py
def compile_rules(
    rules: LoadedRules | SigmaCollection | Iterable[Any],
    pipeline: ProcessingPipeline | None = None,
    *,
    on_error: ErrorPolicy = ErrorPolicy.RAISE,
    placeholders: Mapping[str, list[str]] | None = None,
    regex_engine: str = "re2",
) -> RuleSetMatcher:
    """Compile rules, after ``pipeline``, into a RuleSetMatcher.

    ``pipeline`` maps the rules' fields to the events' (``taintsigma_ecs_syslog()`` for ECS
    events); None for events already in the rules' own field names. ``placeholders`` gives
    values for ``|expand`` (over the pipeline's variables). Regexes run in RE2 unless
    ``regex_engine="re"``. A rule that cannot be compiled raises RuleCompileError naming it,
    or with ``on_error=ErrorPolicy.COLLECT`` lands in ``matcher.errors``.

    >>> from taintsigma import load_rules
    >>> matcher = compile_rules(load_rules())
    >>> [m.title for m in matcher.match({"program": "kernel", "message":
    ...     "module verification failed: signature and/or required key missing - tainting kernel"})]
    ['Tainted Kernel Module Load']
    """
    from taintsigma.evaluate.compile import (
        collect_or_raise,
        compile_rule,
        is_correlation,
        iter_rules,
    )
    from taintsigma.evaluate.correlation import check_correlations
    from taintsigma.rules.loader import rule_id

    compiled: list[RuleMatcher] = []
    correlations: list[Any] = []
    errors: list[tuple[str, RuleCompileError]] = []
    for rule in iter_rules(rules):
        if is_correlation(rule):
            correlations.append(rule)
            continue
        try:
            compiled.append(
                compile_rule(rule, pipeline, placeholders=placeholders, regex_engine=regex_engine)
            )
        except RuleCompileError as err:
            collect_or_raise(on_error, errors, rule_id(rule), err)
    matcher = RuleSetMatcher(rules=compiled, errors=errors)
    if correlations:
        matcher.correlation_rules = check_correlations(
            correlations, compiled, matcher.errors, on_error, pipeline
        )
    return matcher
