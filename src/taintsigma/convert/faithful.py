"""Guard stock pySigma backends against translations that silently change a rule's meaning.

Two corners of pySigma 1.5's text backends emit a query that looks right and matches something
else: a compared time part (``ts|hour|gte: 22``) loses its ``hour`` and becomes ``ts >= 22``; and
a case-sensitive value with wildcards that no startswith/endswith/contains form covers falls back
to the backend's case-sensitive *equality* (EQL ``==``), which has no wildcards. Target.backend_class
mixes :class:`FaithfulMixin` into every stock backend so both become UnsupportedByTarget instead
(and keeps numbers out of the string in-lists of the Kusto and EQL backends, which Kusto and
Elastic's EQL parser refuse).
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.conditions import ConditionFieldEqualsValueExpression
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


def faithful(backend_cls: type[Backend], target_id: str) -> type[Backend]:
    """Return ``backend_cls`` with :class:`FaithfulMixin` in front (once)."""
    if issubclass(backend_cls, FaithfulMixin):
        return backend_cls
    return type(
        backend_cls.__name__,
        (FaithfulMixin, backend_cls),
        {"taintsigma_target_id": target_id, "__module__": backend_cls.__module__},
    )
