"""Guard stock pySigma backends against translations that silently change a rule's meaning.

Two corners of pySigma 1.5's text backends emit a query that looks right and matches something
else: a compared time part (``ts|hour|gte: 22``) loses its ``hour`` and becomes ``ts >= 22``; and
a case-sensitive value with wildcards that no startswith/endswith/contains form covers falls back
to the backend's case-sensitive *equality* (EQL ``==``), which has no wildcards. Target.backend_class
mixes :class:`FaithfulMixin` into every stock backend so both become UnsupportedByTarget instead
(and keeps numbers out of the string in-lists of the Kusto and EQL backends, which Kusto and
Elastic's EQL parser refuse).

It also keeps broader translations honest, as docs/semantics.md's rule says (a superset is
warned about; under ``not`` it would drop events the rule keeps, so it is refused):

- a backend without a single-character wildcard (its ``wildcard_single`` is its
  ``wildcard_multi``: Splunk writes Sigma's ``?`` as ``*``) widens every ``?``;
- a field the pipeline declares broader than the rule's (pipeline ``vars``:
  ``taintsigma_broader_fields: {field: reason}``, ``taintsigma_broader_keywords: reason`` for
  unbound keywords), such as Splunk's ``_raw``, which also holds the syslog header;
- a ``contains`` on a field the pipeline names in ``taintsigma_phrase_fields`` (Splunk's
  ``_raw``) also gets a bare quoted phrase, which the index can serve, before the exact glob;
- a character the target language cannot write literally (target.yml ``no_literal``, e.g.
  Splunk's ``*``, which its search reads as a wildcard whatever precedes it) is refused.
"""

from __future__ import annotations

import warnings
from typing import Any, ClassVar

from sigma.conditions import (
    ConditionAND,
    ConditionFieldEqualsValueExpression,
    ConditionNOT,
    ConditionOR,
    ConditionValueExpression,
)
from sigma.conversion.base import Backend
from sigma.conversion.state import ConversionState
from sigma.types import (
    SigmaCompareExpression,
    SigmaNumber,
    SigmaString,
    SigmaTimestampPart,
    SpecialChars,
)

from taintsigma.convert.fieldtypes import SigmaUnsupportedByTarget
from taintsigma.errors import TranslationWarning

BROADER_FIELDS_VAR = "taintsigma_broader_fields"
BROADER_KEYWORDS_VAR = "taintsigma_broader_keywords"
PHRASE_FIELDS_VAR = "taintsigma_phrase_fields"
# Services ('' for a rule without one) whose keywords mean the whole raw event, so a keyword
# search of it is exact rather than broader (Sigma: keywords search the entire event).
WHOLE_EVENT_KEYWORDS_VAR = "taintsigma_whole_event_keyword_services"


class FaithfulMixin:
    """Refuses, naming field and target, what the stock backend would translate wrongly."""

    taintsigma_target_id: ClassVar[str] = ""
    # Set by a target (backend_attributes) whose language compares numbers with another token
    # than strings: EQL's `:` is a string operator, and Elastic's EQL parser refuses
    # `process.pid:1` ("Expected string not number"), so the eql target sets " == ".
    taintsigma_num_eq_token: ClassVar[str | None] = None

    # Set by a target whose backend's CIDR template only knows IPv4: the Kusto backend writes
    # ipv4_is_in_range(f, "fe80::/10"), which is null for an IPv6 range (so `not(...)` around
    # it drops every row); the sentinel target sets ipv6_is_in_range for IPv6 ranges.
    taintsigma_cidr6_expression: ClassVar[str | None] = None

    def convert_rule(self, rule: Any, *args: Any, **kwargs: Any) -> Any:
        # The rule's log source decides what its keywords mean (_keywords_broader).
        self._taintsigma_rule = rule
        return super().convert_rule(rule, *args, **kwargs)  # type: ignore[misc]

    def _keywords_broader(self) -> Any:
        reason = self._pipeline_var(BROADER_KEYWORDS_VAR)
        rule = getattr(self, "_taintsigma_rule", None)
        logsource = getattr(rule, "logsource", None)
        exact = self._pipeline_var(WHOLE_EVENT_KEYWORDS_VAR) or ()
        if reason and logsource is not None and (logsource.service or "") in exact:
            return None
        return reason

    def convert_condition_field_eq_val_cidr(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        network = getattr(cond.value, "network", None)
        if self.taintsigma_cidr6_expression is not None and getattr(network, "version", 4) == 6:
            return self.taintsigma_cidr6_expression.format(field=cond.field, value=str(network))
        return super().convert_condition_field_eq_val_cidr(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if self.taintsigma_num_eq_token is not None:
            field = self.escape_and_quote_field(cond.field)  # type: ignore[attr-defined]
            return f"{field}{self.taintsigma_num_eq_token}{cond.value}"
        return super().convert_condition_field_eq_val_num(cond, state)  # type: ignore[misc]

    # Characters the target cannot write literally in a value (target.yml ``no_literal``).
    taintsigma_no_literal: ClassVar[str] = ""

    # ---- not: a broader query under 'not' drops events the rule keeps --------------------------

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        self._faithful_negations = getattr(self, "_faithful_negations", 0) + 1
        try:
            return super().convert_condition_not(cond, state)  # type: ignore[misc]
        finally:
            self._faithful_negations -= 1

    def _broader(self, where: str, why: str) -> None:
        if getattr(self, "_faithful_negations", 0) % 2 == 1:
            target = self.taintsigma_target_id or getattr(self, "identifier", "this target")
            raise SigmaUnsupportedByTarget(
                f"target '{target}' cannot express {where} under 'not': {why}; that broader "
                f"query would exclude events the rule keeps"
            )
        warnings.warn(
            f"{where}: {why}; the query may match more than the rule", TranslationWarning,
            stacklevel=2,
        )

    def _pipeline_var(self, name: str) -> Any:
        pipeline = getattr(self, "last_processing_pipeline", None)
        return pipeline.vars.get(name) if pipeline is not None else None

    def _check_value(self, field: str | None, value: Any) -> None:
        where = f"field '{field}'" if field is not None else "a keyword search"
        if isinstance(value, SigmaString):
            literal = self.taintsigma_no_literal
            if literal and any(
                isinstance(p, str) and any(c in literal for c in p) for p in value.s
            ):
                target = self.taintsigma_target_id or getattr(self, "identifier", "this target")
                chars = " ".join(f"'{c}'" for c in literal)
                raise SigmaUnsupportedByTarget(
                    f"target '{target}' cannot search for a literal {chars} ({where}): its "
                    f"search reads it as a wildcard and documents no escape for it"
                )
            single = getattr(self, "wildcard_single", None)
            if single is not None and single == getattr(self, "wildcard_multi", None) and any(
                p is SpecialChars.WILDCARD_SINGLE for p in value.s
            ):
                self._broader(
                    where, f"the target has no single-character wildcard, so '?' becomes '{single}'"
                )
        broader = self._pipeline_var(BROADER_FIELDS_VAR) or {}
        reason = broader.get(field) if field is not None else self._keywords_broader()
        if reason:
            self._broader(where, str(reason))

    def convert_condition_field_eq_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        self._check_value(cond.field, cond.value)
        converted = super().convert_condition_field_eq_val(cond, state)  # type: ignore[misc]
        phrase = self._indexed_phrase(cond)
        if phrase is None or not isinstance(converted, str):
            return converted
        expr = f"{phrase}{self.and_token}{converted}"  # type: ignore[attr-defined]
        return self.group_expression.format(expr=expr)  # type: ignore[attr-defined]

    def _indexed_phrase(self, cond: ConditionFieldEqualsValueExpression) -> str | None:
        """The bare quoted phrase that lets the index narrow a ``contains`` on a raw-event field.

        Pipeline ``vars: taintsigma_phrase_fields`` names the fields (Splunk's ``_raw``). Only a
        ``contains`` whose value begins and ends with a letter or digit and holds no wildcard
        gets one, read as whole words as on Elasticsearch's text fields (docs/semantics.md);
        the glob beside it keeps the exact substring test.
        """
        fields = self._pipeline_var(PHRASE_FIELDS_VAR) or ()
        value = cond.value
        if cond.field not in fields or not isinstance(value, SigmaString):
            return None
        star = SpecialChars.WILDCARD_MULTI
        parts = value.s
        if len(parts) != 3 or parts[0] is not star or parts[2] is not star:
            return None
        text = parts[1]
        if not isinstance(text, str) or not (text[:1].isalnum() and text[-1:].isalnum()):
            return None
        body = text.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{body}"'

    def convert_condition_val(self, cond: ConditionValueExpression, state: ConversionState) -> Any:
        self._check_value(None, cond.value)
        return super().convert_condition_val(cond, state)  # type: ignore[misc]

    def convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> Any:
        for arg in cond.args:
            if isinstance(arg, ConditionFieldEqualsValueExpression):
                self._check_value(arg.field, arg.value)
        return super().convert_condition_as_in_expression(cond, state)  # type: ignore[misc]

    def convert_condition_field_compare_op_val(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        if isinstance(value, SigmaCompareExpression) and isinstance(
            value.number, SigmaTimestampPart
        ):
            raise self._refuse(cond, "cannot compare a part of a timestamp (minute, hour, ...)")
        return super().convert_condition_field_compare_op_val(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        if isinstance(value, SigmaString) and value.contains_special():
            if not _special_form_applies(self, value):
                raise self._refuse(
                    cond, "cannot match a case-sensitive value with wildcards in this position"
                )
        return super().convert_condition_field_eq_val_str_case_sensitive(cond, state)  # type: ignore[misc]

    def decide_convert_condition_as_in_expression(self, cond: Any, state: ConversionState) -> bool:
        # The Kusto backend writes every in-list quoted with the string operator `in~`, which
        # Kusto refuses on a number column (`DstPortNumber in~ ("22")`), and the EQL backend
        # with `like~`, which Elastic's EQL parser refuses for numbers ("Expected string not
        # number"): numbers stay comparisons.
        if str(getattr(self, "or_in_operator", "")).strip() in ("in~", "like~") and any(
            isinstance(getattr(arg, "value", None), SigmaNumber) for arg in cond.args
        ):
            return False
        return super().decide_convert_condition_as_in_expression(cond, state)  # type: ignore[misc]

    def _refuse(self, cond: ConditionFieldEqualsValueExpression, why: str) -> SigmaUnsupportedByTarget:
        target = self.taintsigma_target_id or getattr(self, "identifier", "this target")
        return SigmaUnsupportedByTarget(f"target '{target}' {why} (field '{cond.field}')")


def _special_form_applies(backend: Any, value: SigmaString) -> bool:
    """Whether pySigma would use its startswith/endswith/contains form (mirrors its own test)."""
    star = SpecialChars.WILDCARD_MULTI

    def usable(expression: str, allow_special: bool, inner: SigmaString) -> bool:
        return getattr(backend, expression, None) is not None and (
            getattr(backend, allow_special, False) or not inner.contains_special()
        )

    if value.endswith(star) and usable(
        "case_sensitive_startswith_expression",
        "case_sensitive_startswith_expression_allow_special",
        value[:-1],
    ):
        return True
    if value.startswith(star) and usable(
        "case_sensitive_endswith_expression",
        "case_sensitive_endswith_expression_allow_special",
        value[1:],
    ):
        return True
    return (
        value.startswith(star)
        and value.endswith(star)
        and usable(
            "case_sensitive_contains_expression",
            "case_sensitive_contains_expression_allow_special",
            value[1:-1],
        )
    )


def faithful(backend_cls: type[Backend], target_id: str, no_literal: str = "") -> type[Backend]:
    """Return ``backend_cls`` with :class:`FaithfulMixin` in front (once)."""
    if issubclass(backend_cls, FaithfulMixin):
        return backend_cls
    return type(
        backend_cls.__name__,
        (FaithfulMixin, backend_cls),
        {
            "taintsigma_target_id": target_id,
            "taintsigma_no_literal": no_literal,
            "__module__": backend_cls.__module__,
        },
    )
