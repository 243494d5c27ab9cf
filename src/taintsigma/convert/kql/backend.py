"""The Kibana Query Language backend: pySigma conditions → KQL text (our own pySigma backend).

KQL is what Kibana's search bar and Elastic's custom query rules speak. pySigma ships no KQL
backend; this one renders every construct KQL can express and raises UnsupportedByTarget, naming
rule, field and target, for the rest (docs/kql.md lists both).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionItem,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import TextQueryBackend
from sigma.conversion.deferred import DeferredQueryExpression
from sigma.conversion.state import ConversionState
from sigma.correlations import SigmaCorrelationRule
from sigma.types import (
    CompareOperators,
    SigmaCasedString,
    SigmaCompareExpression,
    SigmaExists,
    SigmaNull,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SigmaTimestampPart,
)

from taintsigma.convert.ecs import TEXT_TYPES, ecs_field_types
from taintsigma.convert.fieldtypes import SigmaUnsupportedByTarget, TextFieldMixin
from taintsigma.convert.kql import query_string, syntax
from taintsigma.convert.regex_translate import RegexNotTranslatable
from taintsigma.convert.regex_wildcards import regex_to_wildcards
from taintsigma.rules.loader import rule_id


# Field types a KQL wildcard value matches case-sensitively, character by character (a field
# ECS does not know is taken as keyword, as everywhere else in the Elasticsearch targets).
_REGEX_FIELD_TYPES = frozenset({"keyword", "wildcard", "constant_keyword"})
# A pipeline var: {field: its lower-case keyword multi-field} (Elastic Defend's ``.caseless``).
CASELESS_FIELDS_VAR = "taintsigma_caseless_fields"


def _caseless_value(value: object) -> bool:
    """True for a Sigma string compared as Sigma compares it, ignoring case (not ``cased``)."""
    return isinstance(value, SigmaString) and not isinstance(value, SigmaCasedString)

Term = tuple[str | None, ...]  # a value's characters, None for '*'


class _KqlSyntaxBackend(TextQueryBackend):
    """KQL rendering of pySigma condition trees; used only through KibanaKqlBackend."""

    # grammar.peggy: OrQuery > AndQuery > NotQuery, so not binds tightest, then and, then or.
    precedence: ClassVar[tuple[type[ConditionItem], type[ConditionItem], type[ConditionItem]]] = (
        ConditionNOT,
        ConditionAND,
        ConditionOR,
    )
    group_expression: ClassVar[str] = "({expr})"
    token_separator: str = " "
    or_token: ClassVar[str] = "or"
    and_token: ClassVar[str] = "and"
    not_token: ClassVar[str] = "not"
    eq_token: ClassVar[str] = ":"

    str_quote: ClassVar[str] = '"'
    escape_char: ClassVar[str] = "\\"
    wildcard_multi: ClassVar[str] = "*"
    wildcard_single: ClassVar[str | None] = None
    bool_values: ClassVar[dict[bool, str | None]] = {True: "true", False: "false"}

    compare_op_expression: ClassVar[str] = "{field} {operator} {value}"
    compare_operators: ClassVar[dict[CompareOperators, str]] = {
        CompareOperators.LT: "<",
        CompareOperators.LTE: "<=",
        CompareOperators.GT: ">",
        CompareOperators.GTE: ">=",
    }

    field_exists_expression: ClassVar[str] = "{field}:*"
    field_not_exists_expression: ClassVar[str] = "not {field}:*"
    field_null_expression: ClassVar[str] = "not {field}:*"

    convert_or_as_in: ClassVar[bool] = True
    convert_and_as_in: ClassVar[bool] = True
    in_expressions_allow_wildcards: ClassVar[bool] = True
    field_in_list_expression: ClassVar[str] = "{field}:({list})"
    or_in_operator: ClassVar[str] = "or"
    and_in_operator: ClassVar[str] = "and"
    list_separator: ClassVar[str] = " or "

    unbound_value_str_expression: ClassVar[str] = "{value}"
    unbound_value_num_expression: ClassVar[str] = "{value}"

    # ---- errors (TextFieldMixin supplies unsupported() with rule id and target) -----------

    def _value(self, field: str | None, value: SigmaString) -> str:
        """``value`` written for ``field`` itself (never moved to another field)."""
        return self._field_value(field, value, caseless_ok=False)[1]

    def _field_value(
        self, field: str | None, value: SigmaString, *, caseless_ok: bool = True
    ) -> tuple[str | None, str]:
        """The field to write ``value`` on (see :meth:`_single_terms`) and the value."""
        try:
            written, [items] = self._single_terms(
                field,
                [syntax.value_items(value)],
                caseless_ok=caseless_ok and _caseless_value(value),
            )
            return written, syntax.render_items(items)
        except syntax.KqlSyntaxError as err:
            raise self.unsupported(field, str(err)) from None  # type: ignore[attr-defined]

    # ---- wildcard values Kibana sends as a query_string (taintsigma.convert.kql.query_string) ----

    def splits_at_whitespace(self, field: str | None) -> bool:
        """True if Kibana sends a wildcard value on ``field`` as a query_string, which splits it
        at whitespace: its type is known and is not plain ``keyword`` (is.ts builds a
        ``wildcard`` query only for that). Analysed text fields take the phrase path."""
        if field is None or self.is_text_field(field):  # type: ignore[attr-defined]
            return False
        kind = self.field_type(field)
        return kind is not None and kind != "keyword" and kind not in TEXT_TYPES

    def _single_terms(
        self,
        field: str | None,
        values: Sequence[Sequence[str | None]],
        *,
        either: bool = True,
        caseless_ok: bool = False,
    ) -> tuple[str | None, list[Term]]:
        """The field to write the values of one condition on ``field`` (ORed, or ANDed when not
        ``either``) on, and the values, each reaching Elasticsearch as one term.

        On a field :meth:`splits_at_whitespace`, a wildcard value holding whitespace becomes its
        single-term superset (runs of whitespace as ``*``) with one warning; the ORed values
        then drop those another one covers (``*-O*`` once, not 36 times), ANDed ones their
        duplicates. Under ``not`` that superset would drop events the rule keeps: when the
        values ignore case (``caseless_ok``) and the pipeline names a lower-case keyword
        multi-field of the field (Elastic Defend's ``process.command_line.caseless``, pipeline
        var ``taintsigma_caseless_fields``), they are written there, lower-cased, whitespace
        and all (Kibana sends a ``wildcard`` query for a keyword field), with one warning;
        else the rule is refused. Other values are kept as they are.
        """
        kept = [tuple(v) for v in values]
        if field is None or not self.splits_at_whitespace(field):
            return field, kept
        split = [v for v in kept if query_string.splits(v)]
        if not split:
            return field, kept
        first = query_string.single_term(split[0])
        reason = (
            f"Kibana sends a KQL wildcard value on a field of type {self.field_type(field)} "
            f"(not keyword) as a query_string, which splits it at whitespace into terms ORed "
            f"together, and KQL cannot escape whitespace"
        )
        if self.negated():  # type: ignore[attr-defined]
            caseless = self._caseless_field(field) if caseless_ok else None
            if caseless is None:
                raise self.unsupported(  # type: ignore[attr-defined]
                    field,
                    f"{reason}; the one-term superset {syntax.render_items(first)} (whitespace "
                    f"as '*') under 'not' would exclude events the rule keeps",
                )
            self.warn_superset(  # type: ignore[attr-defined]
                field,
                f"{reason}: under 'not' the values are searched on {caseless} (a lower-case "
                f"keyword field, whose wildcard query keeps whitespace), which leaves out a "
                f"value longer than that field's ignore_above: such an event is not excluded",
            )
            lowered = [tuple(p.lower() if p is not None else None for p in v) for v in kept]
            return caseless, list(dict.fromkeys(lowered))
        self.warn_superset(  # type: ignore[attr-defined]
            field, f"{reason}: each run of whitespace is written as '*' (one term)"
        )
        terms = [query_string.single_term(v) if query_string.splits(v) else v for v in kept]
        if either:
            return field, query_string.drop_covered(terms)
        return field, list(dict.fromkeys(terms))

    def _caseless_field(self, field: str) -> str | None:
        """The lower-case keyword multi-field the pipeline names for ``field``, if any."""
        pipeline = self._pipeline()  # type: ignore[attr-defined]
        found = (pipeline.vars.get(CASELESS_FIELDS_VAR) or {}).get(field) if pipeline else None
        return str(found) if found else None

    # ---- fields and values --------------------------------------------------------------------

    def escape_and_quote_field(self, field_name: str) -> str:
        return syntax.render_field(field_name)

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        return self._value(None, s)

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        written, value = self._field_value(cond.field, cond.value)  # type: ignore[arg-type]
        return f"{self.escape_and_quote_field(written or cond.field)}:{value}"

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        # KQL matches keyword fields case-sensitively (term and wildcard queries without
        # case_insensitive), which is what 'cased' asks for. Text fields: TextFieldMixin refuses.
        return self.convert_condition_field_eq_val_str(cond, state)

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> str:
        args: list[ConditionFieldEqualsValueExpression] = cond.args  # type: ignore[assignment]
        field = args[0].field
        strings = [arg.value for arg in args if isinstance(arg.value, SigmaString)]
        if len(strings) < len(args):  # numbers among the values: each value as it is
            values = [
                self._value(field, value) if isinstance(value, SigmaString) else str(value)
                for value in (arg.value for arg in args)
            ]
        else:  # one list: its values written as one-term values together (drop_covered)
            try:
                written, terms = self._single_terms(
                    field,
                    [syntax.value_items(s) for s in strings],
                    either=isinstance(cond, ConditionOR),
                    caseless_ok=all(_caseless_value(s) for s in strings),
                )
                values = [syntax.render_items(t) for t in terms]
                field = written or field
            except syntax.KqlSyntaxError as err:
                raise self.unsupported(field, str(err)) from None  # type: ignore[attr-defined]
        joiner = f" {self.or_token if isinstance(cond, ConditionOR) else self.and_token} "
        if len(values) == 1:
            return f"{self.escape_and_quote_field(field)}:{values[0]}"
        return f"{self.escape_and_quote_field(field)}:({joiner.join(values)})"

    def convert_condition_group(
        self, cond: Any, state: ConversionState
    ) -> str | DeferredQueryExpression | None:
        if isinstance(cond, (ConditionOR, ConditionAND)) and (
            self.decide_convert_condition_as_in_expression(cond, state)
        ):
            return self.convert_condition(cond, state)  # field:(a or b) is already grouped
        return super().convert_condition_group(cond, state)

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        # An ip field accepts CIDR notation in KQL's match/term query (field:10.0.0.0/8).
        network = str(cond.value.network)  # type: ignore[union-attr]
        return f"{self.escape_and_quote_field(cond.field)}:{syntax.escape_unquoted(list(network))}"

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        value: SigmaCompareExpression = cond.value  # type: ignore[assignment]
        if isinstance(value.number, SigmaTimestampPart):
            raise self.unsupported(  # type: ignore[attr-defined]
                cond.field, "KQL cannot compare a part of a timestamp (minute, hour, ...)"
            )
        field = self.escape_and_quote_field(cond.field)
        if value.op is CompareOperators.NEQ:
            return f"{self.not_token} {field}:{value.number}"
        return self.compare_op_expression.format(
            field=field, operator=self.compare_operators[value.op], value=value.number
        )

    def convert_condition_not(
        self, cond: ConditionNOT, state: ConversionState
    ) -> str | DeferredQueryExpression | None:
        arg = cond.args[0]
        if arg is None:
            return None
        if isinstance(arg, ConditionFieldEqualsValueExpression) and (
            isinstance(arg.value, SigmaNull)
            or (isinstance(arg.value, SigmaExists) and not arg.value)
        ):
            return self.field_exists_expression.format(field=self.escape_and_quote_field(arg.field))
        if arg.__class__ in self.precedence:
            inner = self.convert_condition_group(arg, state)
        else:
            inner = self.convert_condition(arg, state)
        if inner is None or isinstance(inner, DeferredQueryExpression):
            return inner.negate() if isinstance(inner, DeferredQueryExpression) else None
        if inner.startswith(self.not_token + " "):
            inner = self.group_expression.format(expr=inner)  # KQL has no "not not x"
        return f"{self.not_token} {inner}"

    # ---- what KQL cannot express ------------------------------------------------------------

    def field_type(self, field: str) -> str | None:
        """The Elasticsearch type of ``field`` if known (an ECS name), else None."""
        return None

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        """A regex KQL cannot run, written as the exact wildcard values its search finds
        (taintsigma.convert.regex_wildcards) on a case-sensitive keyword or wildcard field."""
        value: SigmaRegularExpression = cond.value  # type: ignore[assignment]
        kind = self.field_type(cond.field)
        try:
            if kind is not None and kind not in _REGEX_FIELD_TYPES:
                raise RegexNotTranslatable(f"the field is of type {kind}, not keyword or wildcard")
            flags = value.flags
            values = regex_to_wildcards(
                str(value.regexp),
                ignore_case=SigmaRegularExpressionFlag.IGNORECASE in flags,
                multiline=SigmaRegularExpressionFlag.MULTILINE in flags,
                dotall=SigmaRegularExpressionFlag.DOTALL in flags,
            )
            # A regex is case-sensitive: never on a caseless field (see _single_terms).
            _, terms = self._single_terms(cond.field, values)
            rendered = [syntax.render_items(v) for v in terms]
        except (RegexNotTranslatable, syntax.KqlSyntaxError) as err:
            raise self.unsupported(  # type: ignore[attr-defined]
                cond.field,
                f"KQL has no regular expressions (use the lucene target), and "
                f"{str(value.regexp)!r} is no small set of wildcard values: {err}",
            ) from None
        field = self.escape_and_quote_field(cond.field)
        if len(rendered) == 1:
            return f"{field}:{rendered[0]}"
        return f"{field}:({' or '.join(rendered)})"

    def convert_condition_val_re(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        raise self.unsupported(  # type: ignore[attr-defined]
            None, "KQL has no regular expressions (use the lucene target)"
        )

    def convert_condition_field_eq_field(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        raise self.unsupported(  # type: ignore[attr-defined]
            cond.field, "KQL cannot compare one field with another (fieldref)"
        )

    def convert_condition_field_eq_val_timestamp_part(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> str:
        raise self.unsupported(  # type: ignore[attr-defined]
            cond.field, "KQL cannot match a part of a timestamp (minute, hour, ...)"
        )

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        # Free text: a quoted phrase over the default fields, or an unquoted wildcard.
        return self._value(None, cond.value)  # type: ignore[arg-type]

    def convert_condition_val_num(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> str:
        number: SigmaNumber = cond.value  # type: ignore[assignment]
        return str(number)


class KibanaKqlBackend(TextFieldMixin, _KqlSyntaxBackend):
    """Kibana Query Language backend, field-type aware (phrase queries on analysed text).

    >>> from taintsigma.convert.pipelines import taintsigma_ecs_syslog
    >>> from sigma.collection import SigmaCollection
    >>> backend = KibanaKqlBackend(taintsigma_ecs_syslog())
    >>> rules = SigmaCollection.from_yaml('''
    ... title: t
    ... logsource: {product: linux, service: syslog}
    ... detection:
    ...   sel: {program: kernel, message|contains: tainting kernel}
    ...   condition: sel
    ... ''')
    >>> print(backend.convert(rules)[0])  # doctest: +NORMALIZE_WHITESPACE
    host.os.type:linux and event.dataset:"system.syslog" and process.name:kernel
    and message:"tainting kernel"
    """

    identifier: ClassVar[str] = "kibana-kql"
    name: ClassVar[str] = "Kibana Query Language"
    formats: ClassVar[dict[str, str]] = {"default": "plain KQL queries"}
    requires_pipeline: ClassVar[bool] = False
    phrase_config: ClassVar[dict[str, Any]] = {
        "field": '{field}:"{value}"',
        "keyword": '"{value}"',
        "token_wildcard": True,
    }

    def escape_phrase(self, text: str) -> str:
        return syntax.escape_quoted(text)

    def field_type(self, field: str) -> str | None:
        # Every Elastic pipeline of taintsigma writes ECS names (the syslog one too, without
        # declaring taintsigma_field_types), so an ECS name has its ECS type.
        return ecs_field_types().get(field)

    def convert_correlation_rule(
        self,
        rule: SigmaCorrelationRule,
        output_format: str | None = None,
        method: str | None = None,
        callback: Any = None,
    ) -> list[str]:
        named = rule_id(rule)
        raise SigmaUnsupportedByTarget(
            f"rule {named}: target '{self.identifier}' cannot express correlation rules "
            f"({rule.type}): a KQL query matches single events",
            rule_id=named,
        )
