"""Rules compiled for scanning: one matcher per event schema, and the raw-line prefilter plan.

Linux adapters yield ECS documents, matched by rules compiled after the
``taintsigma_ecs_scan`` pipeline (the ECS syslog mapping, services' programs included);
``--format json`` events carry the rules' own field names and are matched by rules compiled
without a pipeline, every rule being tried. Audit records and Sysmon events carry Sigma's own names and their log source (``service: auditd``,
``category: process_creation`` …): they are matched by rules compiled without a field mapping
(keywords searching every value), each only by the rules of its log source
(:class:`NativeRuleSetView`). ECS documents of Linux process, file and network events (Elastic
Defend, Auditbeat: the ECS adapter tags them with their Sigma category) are read back into
Sigma's names with the Elastic targets' own mapping, reversed (:func:`sigma_fields`), and
matched by the same native rules.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from taintsigma.errors import ErrorPolicy, TaintSigmaError
from taintsigma.logs.base import Adapter
from taintsigma.logs.ecs_ndjson import TELEMETRY
from taintsigma.logs.event import LINUX_SYSLOG, Event, LogSourceKey
from taintsigma.scan.alerts import RuleInfo, rule_info
from taintsigma.scan.raw_literals import pattern_of as _pattern_of
from taintsigma.scan.raw_literals import rule_literals as _rule_literals
from taintsigma.scan.telemetry import reversed_mappings, sigma_fields, source_options

# Services whose logs are syslog lines; Linux adapters' events are tried by the rules of these
# and of none (auditd writes its own format, categories need other telemetry).
_NOT_SYSLOG_SERVICES = frozenset({"auditd"})
# The services of the events built from others (logs/derive.py: audit records, Sysmon events
# of no Sigma category); the others carry a category.
DERIVED_SERVICES = frozenset({"auditd", "sysmon"})


def syslog_borne(rule: Any) -> bool:
    """True for rules that apply to Linux log lines: ``product: linux`` (or none), no
    category, any service but auditd (SigmaHQ's sshd, cron, vsftpd, clamav, guacamole …)."""
    source = rule.logsource
    product = (source.product or "linux").lower()
    service = (source.service or "").lower()
    return product == "linux" and source.category is None and service not in _NOT_SYSLOG_SERVICES


@dataclass(frozen=True)
class Plan:
    """How to prefilter one adapter's raw lines: lower-case literals and RE2 patterns of which
    a line must hold one to be parsed for every rule; ``free`` matches the rules that need no
    literal, so with it every line is parsed (the others only count). ``anywhere`` holds the
    keyword literals that may match any value: a file whose path holds one is parsed whole."""

    literals: list[bytes]
    patterns: list[bytes]
    free: Any = None
    anywhere: frozenset[str] = frozenset()

    def usable_for(self, path: str) -> bool:
        """False when a keyword literal is in the path (``log.file.path`` would match it)."""
        lowered = path.lower()
        return not any(literal in lowered for literal in self.anywhere)


class RuleSetView:
    """The rules compiled for one schema, ready to match events of one adapter.

    ``matcher`` is the evaluator's RuleSetMatcher over every rule; ``linux`` the one over the
    rules that apply to Linux log lines (:func:`syslog_borne`), which events of the Linux
    adapters are matched against, every one of them being tried (as Elastic runs any rule on
    the index it is given).
    """

    def __init__(
        self, matcher: Any, schema: str, native: Any = None, reverse: Any = None
    ) -> None:
        from taintsigma.evaluate.ruleset import RuleSetMatcher

        self.matcher = matcher
        self.schema = schema
        # Returns the NativeRuleSetView for ECS telemetry documents (the ``ecs`` schema only).
        self._native = native
        # Returns the Elastic mapping reversed (see sigma_fields); None: compute it here.
        self._reverse = reverse
        self.linux = RuleSetMatcher(rules=[r for r in matcher.rules if syslog_borne(r.header)])
        self._linux_ids = frozenset(r.rule_id for r in self.linux.rules)
        self._infos: dict[int, RuleInfo] = {}
        self._plans: dict[str, Plan | None] = {}

    def _matcher_for(self, logsource: LogSourceKey | None) -> Any:
        if self.schema != "plain" and logsource == LINUX_SYSLOG:
            return self.linux
        return self.matcher

    def match(
        self, event: Event, candidate: bool = True, plan: Plan | None = None
    ) -> list[RuleInfo]:
        """The rules matching ``event`` that make alerts; a line the prefilter did not hit
        (``candidate`` False) tries only the plan's literal-free rules."""
        return [self.info(m.rule) for m in self.matches(event, candidate, plan) if m.output]

    def matches(self, event: Event, candidate: bool = True, plan: Plan | None = None) -> list[Any]:
        """The evaluator's Match objects for ``event`` (``generate: false`` rules included)."""
        if candidate:
            matcher = self._matcher_for(event.logsource)
        else:
            matcher = plan.free if plan is not None else None
        if matcher is None:
            return []
        found = matcher.match(event.fields, None)
        if not candidate and self.schema != "plain" and event.logsource == LINUX_SYSLOG:
            # A literal-free rule outside the Linux set (from an ECS input) must not see
            # events routed to that set.
            found = [m for m in found if m.rule_id in self._linux_ids]
        return found

    def route(self, event: Event) -> tuple[RuleSetView, Event]:
        """The view that matches ``event``, and the event as it sees it: an ECS process, file
        or network document (its log source a category of taintsigma.logs.ecs_ndjson.TELEMETRY)
        goes, with Sigma's names added (:func:`sigma_fields`), to the native rules; any other
        event stays here as it is."""
        source = event.logsource
        if self._native is None or source is None or source.category not in TELEMETRY:
            return self, event
        reverse = self._reverse() if self._reverse is not None else None
        fields = sigma_fields(event.fields, source, reverse)
        return self._native(), Event(fields=fields, origin=event.origin, logsource=source)

    def info(self, rule: Any) -> RuleInfo:
        """The alert's view of a rule, a RuleHeader or a (correlation) pySigma rule (cached
        per rule: two rules may share an id)."""
        key = id(rule)
        found = self._infos.get(key)
        if found is None:
            found = self._infos[key] = rule_info(rule)
        return found

    def correlations(self) -> Any:
        """A fresh correlation engine for one input, or None when there is no correlation rule."""
        if not self.matcher.correlation_rules:
            return None
        return self.matcher.new_correlation_engine()

    def prefilter_plan(self, adapter: Adapter) -> Plan | None:
        """What to search raw lines of this adapter for; None when no line can be skipped."""
        if adapter.name not in self._plans:
            self._plans[adapter.name] = self._plan(adapter)
        return self._plans[adapter.name]

    def _plan(self, adapter: Adapter) -> Plan | None:
        from taintsigma.evaluate.ruleset import RuleSetMatcher

        inner = getattr(adapter, "inner", None)
        always = _pieces(adapter.always_parse)
        if adapter.derives and inner is not None:
            if self._derived_rules():
                always = self._carried(adapter, inner)
            else:
                # No rule can match the records its lines carry (audit records, Sysmon events
                # are tried only by rules naming their service or category): those lines need
                # no parsing but for the rules of the lines themselves.
                adapter = inner
                always = _pieces(inner.always_parse)
        if adapter.logsource == LINUX_SYSLOG and self.schema != "plain":
            relevant = list(self.linux.rules)
        else:
            relevant = list(self.matcher.rules)
        plan = _plan_for(relevant, adapter, RuleSetMatcher, always)
        missing = [piece for piece in always if plan is not None and piece not in plan.patterns]
        if self._native is not None and plan is not None and missing:
            # The native rules match the telemetry documents: their lines are always parsed.
            plan = replace(plan, patterns=[*plan.patterns, *missing])
        return plan

    def _carried(self, adapter: Adapter, inner: Adapter) -> list[bytes]:
        """The lines of a deriving adapter to parse for the records they carry (a pattern).

        Sysmon events and journal audit entries: always. An audit record in a syslog line
        (``… msg=audit(…)``, or ``… audit(…)`` from the kernel): when it may match a
        ``service: auditd`` rule (scan/audit_filters.py any_record_pattern, found in the same
        line) or, when a ``process_creation`` rule exists, is one an execution is built from;
        every audit record when some auditd rule has no literal to search.
        """
        from taintsigma.logs.auditd import AUDITD, EXECUTION_RECORDS, PROCESS_CREATION
        from taintsigma.logs.derive import AUDIT_CARRIER, OTHER_CARRIERS
        from taintsigma.scan.audit_filters import any_record_patterns

        native = self._native() if self._native is not None else None
        audit = getattr(adapter, "audit", None)
        if native is None or audit is None:
            return _pieces(adapter.always_parse)
        rules = native.specific.rules
        records_source, process_source = native.source(AUDITD), native.source(PROCESS_CREATION)
        patterns = [OTHER_CARRIERS, *([inner.always_parse] if inner.always_parse else [])]
        wanted: list[bytes] = []
        if any(process_source.admits(r.header) for r in rules):
            wanted.append(EXECUTION_RECORDS)
        records = [r for r in rules if records_source.admits(r.header)]
        if records:
            found = any_record_patterns(records, audit)
            if found is None:
                return [*patterns, AUDIT_CARRIER]
            wanted += found
        for piece in wanted:  # in one line with the carrier, before it (``type=``) or after it
            piece = b"(?:" + piece + b")"
            patterns += [AUDIT_CARRIER + rb"[^\n]*" + piece, piece + rb"[^\n]*" + AUDIT_CARRIER]
        return patterns

    def _derived_rules(self) -> bool:
        """True when some rule may match a derived event: derived events are tried only by
        the rules naming a service or category (NativeRuleSetView), and carry a category or
        one of DERIVED_SERVICES (tests/test_scan_fast_paths.py checks the adapters' events)."""
        native = self._native() if self._native is not None else None
        if native is None:
            return True
        for rule in getattr(native, "specific", native.matcher).rules:
            source = rule.header
            if (source.product or "linux").lower() == "linux" and (
                source.category is not None or (source.service or "").lower() in DERIVED_SERVICES
            ):
                return True
        return False


def _pieces(pattern: bytes | None) -> list[bytes]:
    return [pattern] if pattern else []


def _plan_for(
    relevant: list[Any], adapter: Adapter, matcher_type: Any, always: list[bytes] | None = None
) -> Plan | None:
    """The prefilter plan of an adapter's lines for the rules that may see its events;
    ``always`` (default: the adapter's ``always_parse``) finds the lines parsed whatever the
    rules' literals."""
    if always is None:
        always = _pieces(adapter.always_parse)
    from taintsigma.evaluate.prefilter import ANYWHERE, rule_requirement

    if not relevant:
        # No rule applies: only count, but parse the lines the adapter derives events from.
        return Plan(literals=[], patterns=list(always) if adapter.derives else [], free=None)
    literals: set[str] = set()
    anywhere: set[str] = set()
    patterns: set[str] = set()
    free = []
    def usable(name: str) -> int:
        if name in adapter.weak_fields:
            return 1
        if name == ANYWHERE or name in adapter.raw_fields or _pattern_of(adapter, name):
            return 2
        return 0

    for rule in relevant:
        pieces = _rule_literals(rule_requirement(rule, usable), adapter, ANYWHERE)
        if pieces is None:
            free.append(rule)
            continue
        literals.update(piece for piece, kind in pieces if kind != "pattern")
        anywhere.update(piece for piece, kind in pieces if kind == "anywhere")
        patterns.update(piece for piece, kind in pieces if kind == "pattern")
    if not literals and not patterns:
        return None
    if adapter.hex_encoded is not None:
        patterns.update(_hex_forms(literals, adapter.hex_encoded))
    return Plan(
        literals=sorted(lit.encode() for lit in literals),
        patterns=sorted(p.encode() for p in patterns)
        + list(always),
        free=matcher_type(rules=free) if free else None,
        anywhere=frozenset(anywhere) if adapter.adds_path else frozenset(),
    )


_HEX_MIN = 2  # a 1-character literal's hex form (2 digits) would hit nearly every line


def _hex_forms(literals: set[str], hex_encoded: bytes) -> set[str]:
    """RE2 patterns finding each literal in a hex-encoded value (upper- and lower-case letters
    alike: the value is matched case-insensitively, and the chunk is lower-cased, so hex
    digits are); a literal with no usable form makes every hex-encoded value a candidate."""
    found: set[str] = set()
    for literal in literals:
        if len(literal) < _HEX_MIN or not literal.isascii():
            found.add(hex_encoded.decode())
            continue
        parts = []
        for char in literal:
            low, high = f"{ord(char.lower()):02x}", f"{ord(char.upper()):02x}"
            if char == " ":
                parts.append("[02]0")  # proctitle's NUL-separated arguments read as spaces
            else:  # an ASCII letter's cases differ in the first hex digit only (0x20)
                parts.append(low if low == high else f"[{high[0]}{low[0]}]{low[1]}")
        found.add("".join(parts))
    return found


class NativeRuleSetView(RuleSetView):
    """Rules for events in Sigma's own field names that know their log source.

    An event is tried only by the rules its log source admits (every part the rule's
    ``logsource`` names equals the event's): an audit record (``linux``/``auditd``) by the
    ``service: auditd`` rules and those naming only ``product: linux``; a process_creation
    event by the ``category: process_creation`` rules and those naming only the product. A
    *derived* event (built from other events, Event.derived) is tried only by rules naming its
    category or service: the product-only rules (keyword searches) saw its sources already.
    An ECS adapter reading Elastic Defend documents can tag its events with the same keys.
    """

    def __init__(self, matcher: Any) -> None:
        super().__init__(matcher, "sigma")
        self.specific = _ByRecordType([r for r in matcher.rules if _names_source(r.header)])
        self.every = _ByRecordType(list(matcher.rules))
        self._sources: dict[LogSourceKey, Any] = {}

    def source(self, key: LogSourceKey | None) -> Any:
        """The evaluator's LogSource for a key (one object per key: the matcher caches by
        identity); None for None (every rule is tried)."""
        if key is None:
            return None
        found = self._sources.get(key)
        if found is None:
            from taintsigma.evaluate.compiled import LogSource

            found = self._sources[key] = LogSource(
                product=key.product, category=key.category, service=key.service
            )
        return found

    def matches(self, event: Event, candidate: bool = True, plan: Plan | None = None) -> list[Any]:
        if candidate:
            matcher = self.specific if event.derived else self.every
        else:
            matcher = plan.free if plan is not None else None
        if matcher is None:
            return []
        return matcher.match(event.fields, self.source(event.logsource))

    def _plan(self, adapter: Adapter) -> Plan | None:
        source = self.source(adapter.logsource)
        from taintsigma.evaluate.ruleset import RuleSetMatcher

        admitted = [r for r in self.matcher.rules if source is None or source.admits(r.header)]
        return _plan_for(admitted, adapter, RuleSetMatcher)


class _ByRecordType:
    """Rules split by the audit record ``type`` they need: an event is tried only by the rules
    that may match its type (and those that need none).

    A rule whose necessary literals (evaluate.prefilter.rule_requirement, preferring ``type``)
    all lie in ``type`` can only match events whose ``type`` holds one of them: most auditd
    rules name EXECVE, SYSCALL or PATH, so a PROCTITLE or CWD record skips them all.
    """

    FIELD = "type"

    def __init__(self, rules: list[Any]) -> None:
        from taintsigma.evaluate.prefilter import rule_requirement

        self.rules = rules
        self.needs: list[frozenset[str] | None] = []
        for rule in rules:
            need = rule_requirement(rule, lambda name: 2 if name == self.FIELD else 1)
            if need and all(name == self.FIELD for name, _ in need):
                self.needs.append(frozenset(literal for _, literal in need))
            else:
                self.needs.append(None)
        self._by_type: dict[object, _KeywordGatedMatcher] = {}

    def match(self, fields: Any, source: Any) -> list[Any]:
        kind = fields.get(self.FIELD)
        if not isinstance(kind, str):
            kind = None
        found = self._by_type.get(kind)
        if found is None:
            lowered = kind.lower() if isinstance(kind, str) else None
            chosen = [
                rule
                for rule, need in zip(self.rules, self.needs, strict=True)
                if need is None
                or (lowered is not None and any(literal in lowered for literal in need))
                or (lowered is not None and not lowered.isascii())
            ]
            found = self._by_type[kind] = _KeywordGatedMatcher(chosen, weak=self.FIELD)
        return found.match(fields, source)


class _KeywordGatedMatcher:
    """A RuleSetMatcher whose keyword rules (searching every value) run only on events whose
    values hold one of their necessary literals.

    The evaluator indexes rules by the literals they need in named fields; a keyword searching
    every value has no field to index, so it would run on every event, each keyword against
    each value. Here all the values of an event are joined and lower-cased once, and one RE2
    search for the keyword rules' literals decides whether they run at all.
    """

    def __init__(self, rules: list[Any], weak: str | None = None) -> None:
        import re2

        from taintsigma.evaluate.prefilter import ANYWHERE, rule_requirement
        from taintsigma.evaluate.ruleset import RuleSetMatcher

        plain, gated, literals, needs = [], [], set(), []
        for rule in rules:
            need = rule_requirement(rule)
            if need and any(name == ANYWHERE for name, _ in need):
                gated.append(rule)
                literals.update(literal for _, literal in need)
            else:
                plain.append(rule)
                # Rules for one record type: index them by their other literals, since
                # every event given to this matcher has a type they accept.
                needs.append(rule_requirement(rule, lambda f: 1 if f == weak else 2))
        self.plain = RuleSetMatcher(rules=plain, _needs=needs if weak else None)
        self.gated = RuleSetMatcher(rules=gated) if gated else None
        self.search = None
        if literals:
            options = re2.Options()
            options.max_mem = 64 << 20
            self.search = re2.compile("|".join(map(re2.escape, sorted(literals))), options).search

    def match(self, fields: Any, source: Any) -> list[Any]:
        from taintsigma.evaluate.fields import iter_strings

        found = self.plain.match(fields, source)
        if self.gated is not None and self.search is not None:
            values = list(fields.values())
            if all(type(v) is str or type(v) is int for v in values):  # flat records
                text = "\n".join(v if type(v) is str else str(v) for v in values)
            else:
                text = "\n".join(iter_strings(fields))
            # Non-ASCII text may fold (case-insensitively) into a literal it does not hold.
            if not text.isascii() or self.search(text.lower()) is not None:
                found = found + self.gated.match(fields, source)
        return found


def _names_source(rule: Any) -> bool:
    source = rule.logsource
    return source.category is not None or source.service is not None


@dataclass
class CompiledRules:
    """Loaded rules, compiled lazily per schema (``ecs`` after the ECS pipeline, ``plain``).

    With ``cache`` (scan/cache.py) a schema's rules are read back from the compiled-rule
    cache when it has them, and stored there once compiled; ``loaded`` is then None until a
    schema the cache lacks needs the rules, loaded from ``paths``.
    """

    loaded: Any
    errors: list[TaintSigmaError] = field(default_factory=list)
    regex_engine: str = "re2"
    _views: dict[str, RuleSetView] = field(default_factory=dict)
    cache: Any = None
    paths: Any = None

    @property
    def count(self) -> int:
        if self.loaded is None and self.cache is not None:
            return int(self.cache.count)
        return len(list(self.loaded))

    def for_format(self, name: str) -> RuleSetView:
        """The rules compiled for the events of adapter ``name`` (``sigma``: events in
        Sigma's own names with their log source, as auditd's and the derived ones)."""
        schema = {"json": "plain", "auditd": "sigma", "sigma": "sigma"}.get(name, "ecs")
        if schema not in self._views:
            self._views[schema] = self._view(schema, self._matcher(schema))
        return self._views[schema]

    def _matcher(self, schema: str) -> Any:
        from taintsigma.scan.cache import entries_of, matcher_of

        if self.cache is not None:
            stored = self.cache.schema(schema)
            matcher = matcher_of(stored, self.regex_engine) if stored is not None else None
            if matcher is not None:
                return matcher
        if self.loaded is None:
            from taintsigma.rules.loader import load_rules

            self.loaded = load_rules(self.paths, on_error=ErrorPolicy.COLLECT)
            self.errors.extend(self.loaded.errors)
        matcher = self._compile(schema)
        if self.cache is not None and self._cacheable(matcher):
            self.cache.write(len(list(self.loaded)), schema, entries_of(matcher))
        return matcher

    def _cacheable(self, matcher: Any) -> bool:
        """Only a clean rule set from paths is cached (see scan/cache.py)."""
        from taintsigma.rules.loader import shared_ids
        from taintsigma.scan.cache import same_rules

        loaded = self.loaded
        return (
            not loaded.errors
            and not loaded.notes
            and not matcher.errors
            and not matcher.correlation_rules
            and len(matcher.rules) == len(list(loaded))
            and not shared_ids(loaded)
            and same_rules(self.cache, self.paths, self.regex_engine)
        )

    def _compile(self, schema: str) -> Any:
        from sigma.processing.pipeline import ProcessingPipeline

        from taintsigma.convert.pipelines import taintsigma_ecs_scan
        from taintsigma.evaluate.compile import KEYWORD_FIELD_VAR
        from taintsigma.evaluate.ruleset import compile_rules

        pipeline = taintsigma_ecs_scan() if schema == "ecs" else None
        if schema == "sigma":
            # No field mapping; keywords search every value, as the specification says.
            pipeline = ProcessingPipeline(
                items=[], vars={KEYWORD_FIELD_VAR: "*"}, name="taintsigma_sigma_native"
            )
        matcher = compile_rules(
            list(self.loaded),
            pipeline,
            on_error=ErrorPolicy.COLLECT,
            regex_engine=self.regex_engine,
        )
        known = {e.rule_id for e in self.errors}
        self.errors.extend(err for rid, err in matcher.errors if rid not in known)
        return matcher

    def _mappings(self) -> dict[str, list[Any]]:
        """The Elastic mappings reversed (for ECS telemetry documents, see
        scan/telemetry.py): from the cache when it has them, else computed (with pySigma) and
        added to a cached rule set's entry."""
        stored = self.cache.extra("reverse") if self.cache is not None else None
        if stored is not None:
            return stored
        found = reversed_mappings()
        if self.cache is not None and self.cache.body is not None:
            self.cache.write_extra("reverse", found)
        return found

    def _view(self, schema: str, matcher: Any) -> RuleSetView:
        if schema == "sigma":
            return NativeRuleSetView(matcher)
        if schema == "ecs":
            return RuleSetView(
                matcher, schema, native=lambda: self.for_format("sigma"), reverse=self._mappings
            )
        return RuleSetView(matcher, schema)


def compile_for_scan(
    rules: Any = None,
    *,
    errors: Iterable[TaintSigmaError] = (),
    regex_engine: str = "re2",
    cache: bool = False,
    on_cache_problem: Callable[[str], None] | None = None,
) -> CompiledRules:
    """Prepare rules for scanning: None (bundled), paths, or what load_rules returns.

    Compilation happens on first use, per event schema; ``errors`` are load errors to report
    with the compile errors; ``regex_engine="re"`` runs regexes RE2 refuses. With ``cache``,
    rules given as paths (or the bundled ones) go through the compiled-rule cache
    (scan/cache.py): a rule set found there is not even loaded (``loaded`` is None);
    ``on_cache_problem`` is told once when the cache cannot be written (default: a warning).
    """
    if isinstance(rules, str | Path):
        rules = [rules]  # one path: never its characters
    if rules is None or (
        isinstance(rules, list | tuple) and all(isinstance(r, str | Path) for r in rules)
    ):
        from taintsigma.resources import bundled_rules_dir

        paths = [bundled_rules_dir()] if rules is None else list(rules)
        entry = None
        if cache:
            from taintsigma.scan.cache import open_cache

            entry = open_cache(paths, regex_engine, on_cache_problem)
        if entry is not None and entry.body is not None:
            return CompiledRules(None, regex_engine=regex_engine, cache=entry, paths=paths)
        from taintsigma.rules.loader import load_rules

        loaded = load_rules(paths, on_error=ErrorPolicy.COLLECT)
        return CompiledRules(
            loaded, list(loaded.errors), regex_engine, cache=entry, paths=paths
        )
    from taintsigma.rules.loader import LoadedRules, load_rules

    if isinstance(rules, Iterable) and not isinstance(rules, LoadedRules):
        rules = list(rules)
        if all(isinstance(r, str | Path) for r in rules):
            loaded = load_rules(rules, on_error=ErrorPolicy.COLLECT)
            return CompiledRules(loaded=loaded, errors=list(loaded.errors), regex_engine=regex_engine)
    return CompiledRules(loaded=rules, errors=list(errors), regex_engine=regex_engine)
