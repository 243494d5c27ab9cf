"""String literals of EQL and ES|QL: each Sigma value written so the language reads it back intact.

pySigma's Elasticsearch backends escape a value once, with one table, whatever the operator:
Sigma's ``a\\*b`` (a literal star) became ``"a\\*b"``, which ES|QL (escapes ``\\t \\n \\r \\"
\\\\`` only) and Elastic's ``eql`` parser reject, and a newline was written raw, which neither
language accepts inside ``"..."``. A literal has two layers here:

- the *string* layer: inside ``"..."`` a backslash and ``"`` are backslash-escaped and newline,
  carriage return and tab are written ``\\n``, ``\\r``, ``\\t`` (ES|QL syntax reference,
  "String literals"; the ``DQ_STRING`` token of the ``eql`` package's grammar);
- the *pattern* layer, only where the operator reads wildcards: ES|QL's ``like`` takes ``*`` and
  ``?`` as wildcards and ``\\`` as their escape (ES|QL operators reference, ``LIKE``: "Matching
  the exact characters ``*`` and ``.`` will require escaping ... backslash is a special
  character in string literals, it will require further escaping"). EQL's ``:`` and ``like~``
  read ``*`` and ``?`` as wildcards, but Elastic's Python ``eql`` engine has no escape for
  them, so a value holding a literal ``*``, ``?`` or ``\\`` is written with a function that reads
  no wildcards (``stringContains~``, ``startsWith~``, ``endsWith~``, or ``==`` when the value
  has no letter whose case matters) and refused where none applies.

docs/semantics.md ("String literals of EQL and ES|QL") states the rules.
"""

from __future__ import annotations

from typing import Any, ClassVar

from sigma.conditions import ConditionAND, ConditionFieldEqualsValueExpression, ConditionOR
from sigma.conversion.base import Backend
from sigma.conversion.state import ConversionState
from sigma.types import SigmaString, SpecialChars

from taintsigma.convert.fieldtypes import SigmaUnsupportedByTarget
from taintsigma.convert.phrase import PATTERN_CHARS, has_literal, with_wildcards

LANGUAGES = ("eql", "esql")
# The string layer: the same five escapes in EQL and ES|QL.
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters an EQL wildcard operator would read as syntax.
_EQL_PATTERN_CHARS = PATTERN_CHARS


def string_body(text: str) -> str:
    """``text`` as the inside of a double-quoted EQL or ES|QL string literal."""
    return "".join(_STRING_ESCAPES.get(c, c) for c in text)


def _plain(value: SigmaString) -> str:
    """The characters of a value without wildcards."""
    return "".join(p for p in value.s if isinstance(p, str))


def esql_pattern(value: SigmaString) -> str:
    """A ``like`` pattern (before the string layer): wildcards kept, ``* ? \\`` escaped."""
    return with_wildcards(value, lambda text: "".join("\\" + c if c in "*?\\" else c for c in text))


class StringLiteralMixin:
    """Mixin for pySigma's EQL and ES|QL backends: string literals in both layers, exactly."""

    taintsigma_literals: ClassVar[str] = ""
    taintsigma_target_id: ClassVar[str] = ""

    def string_literal_body(self, text: str) -> str:
        """The inside of a string literal (used by the phrase templates too)."""
        return string_body(text)

    def convert_value_str(self, s: SigmaString, state: ConversionState) -> str:
        if self.taintsigma_literals == "esql" and s.contains_special():
            # Only `like` receives a value with wildcards (pySigma's choice of operator).
            return '"' + string_body(esql_pattern(s)) + '"'
        # Exact operators (==, starts_with, in-lists) and EQL, whose wildcard operands never
        # hold a literal * ? \ (see convert_condition_field_eq_val_str).
        return '"' + with_wildcards(s, string_body) + '"'

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        value = cond.value
        if self.taintsigma_literals == "eql" and isinstance(value, SigmaString):
            if has_literal(value, _EQL_PATTERN_CHARS):
                return self._eql_function_form(cond, value)
        return super().convert_condition_field_eq_val_str(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if self.taintsigma_literals == "eql":
            # EQL's ':' compares strings only (a number is a type error): '==' compares numbers.
            field = self.escape_and_quote_field(cond.field)  # type: ignore[attr-defined]
            return f"{field} == {cond.value}"
        return super().convert_condition_field_eq_val_num(cond, state)  # type: ignore[misc]

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        if self.taintsigma_literals == "eql" and any(
            isinstance(arg, ConditionFieldEqualsValueExpression)
            and (
                not isinstance(arg.value, SigmaString)  # like~ compares strings only
                or has_literal(arg.value, _EQL_PATTERN_CHARS)  # read as wildcard syntax
            )
            for arg in cond.args
        ):
            return False
        return super().decide_convert_condition_as_in_expression(cond, state)  # type: ignore[misc]

    def _eql_function_form(
        self, cond: ConditionFieldEqualsValueExpression, value: SigmaString
    ) -> str:
        star = SpecialChars.WILDCARD_MULTI
        field = self.escape_and_quote_field(cond.field)  # type: ignore[attr-defined]
        parts = value.s
        opens = bool(parts) and parts[0] is star
        closes = len(parts) > 1 and parts[-1] is star
        inner = value[int(opens) : len(value) - int(closes)] if opens or closes else value
        if not inner.contains_special():
            text = string_body(_plain(inner))
            if opens and closes:
                return f'stringContains~({field}, "{text}")'
            if closes:
                return f'startsWith~({field}, "{text}")'
            if opens:
                return f'endsWith~({field}, "{text}")'
            plain = _plain(inner)
            if plain.lower() == plain.upper():  # no letter whose case matters: == is exact
                return f'{field} == "{text}"'
        target = self.taintsigma_target_id or "eql"
        raise SigmaUnsupportedByTarget(
            f"target '{target}' cannot match the literal '*', '?' or '\\' of this value "
            f"(field '{cond.field}'): EQL's ':' reads them as wildcard syntax, and no "
            f"case-insensitive EQL function matches this value exactly"
        )


def with_literals(backend_cls: type[Backend], language: str, target_id: str) -> type[Backend]:
    """Return ``backend_cls`` with :class:`StringLiteralMixin` for ``language`` in front."""
    if language not in LANGUAGES:
        raise ValueError(f"literals: must be one of {', '.join(LANGUAGES)}, not '{language}'")
    return type(backend_cls)(
        backend_cls.__name__,
        (StringLiteralMixin, backend_cls),
        {
            "taintsigma_literals": language,
            "taintsigma_target_id": target_id,
            "__module__": backend_cls.__module__,
        },
    )
