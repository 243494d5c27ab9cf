"""Field-type aware translation for Elasticsearch targets: phrase queries on analysed text fields.

Elasticsearch indexes ECS ``message`` as analysed text: a wildcard query runs against single
tokens, so ``message:*module verification*`` never matches, while the phrase query
``message:"module verification"`` does. Pipelines declare their text fields in pySigma pipeline
``vars`` (``taintsigma_text_fields``, ``taintsigma_keyword_field``); :class:`TextFieldMixin`
reads them and turns string matches on those fields into phrase queries, warns when the phrase
is broader than the Sigma value, and refuses what a phrase cannot express (which phrase a
value makes is decided by taintsigma.convert.phrase). docs/semantics.md ("Text fields") states the rules.
"""

from __future__ import annotations

import copy
import warnings
from functools import cache
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
from sigma.exceptions import SigmaFeatureNotSupportedByBackendError
from sigma.types import (
    SigmaExpansion,
    SigmaNumber,
    SigmaRegularExpression,
    SigmaRegularExpressionFlag,
    SigmaString,
    SpecialChars,
)

from taintsigma.convert.ecs import FIELD_TYPES_VAR, ecs_text_fields, pipeline_field_types
from taintsigma.convert.phrase import (
    PATTERN_CHARS,
    TextMatch,
    as_contains,
    classify_text_value,
    has_literal,
    with_wildcards,
)
from taintsigma.convert.regex_translate import RegexNotTranslatable, translate_regex
from taintsigma.errors import TaintSigmaError, TranslationWarning, UnsupportedByTarget
from taintsigma.rules.loader import rule_id

TEXT_FIELDS_VAR = "taintsigma_text_fields"
KEYWORD_FIELD_VAR = "taintsigma_keyword_field"

PHRASE_KEYS = frozenset(
    {"field", "keyword", "escape", "token_wildcard", "whole_value", "whole_value_lower"}
)
# Elasticsearch field types holding strings: a number compared with one is compared as text.
STRING_TYPES = frozenset({"keyword", "wildcard", "constant_keyword"})
REGEX_KEYS = frozenset({"expression", "inside"})
REGEX_INSIDE = ("slashes", "string")
# A Lucene regexp inside a double-quoted EQL or ES|QL string literal.
_STRING_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


class SigmaUnsupportedByTarget(UnsupportedByTarget, SigmaFeatureNotSupportedByBackendError):
    """UnsupportedByTarget raised inside a pySigma backend.

    Being a pySigma error too, sigma-cli reports it in one line (and skips the rule with
    ``--skip-unsupported``) instead of printing a traceback.
    """


def declared_text_fields(pipeline: Any) -> frozenset[str]:
    """Field names a processing pipeline declares as analysed text (its ``vars``): those it
    lists, and with ``taintsigma_field_types: ecs`` every ECS text field (taintsigma.convert.ecs)."""
    if pipeline is None:
        return frozenset()
    value = pipeline.vars.get(TEXT_FIELDS_VAR)
    listed = frozenset([value] if isinstance(value, str) else (str(v) for v in value or ()))
    if pipeline.vars.get(FIELD_TYPES_VAR) == "ecs":
        return listed | ecs_text_fields()
    return listed


def declared_keyword_field(pipeline: Any) -> str | None:
    """The field a processing pipeline names for unbound keywords (its ``vars``), if any."""
    value = pipeline.vars.get(KEYWORD_FIELD_VAR) if pipeline is not None else None
    return str(value) if value else None


class TextFieldMixin:
    """Mixin for pySigma TextQueryBackend subclasses: phrase queries on analysed text fields.

    Put it first in the bases (``class X(TextFieldMixin, LuceneBackend)``) or use
    :func:`text_aware`. It reads ``taintsigma_text_fields`` and ``taintsigma_keyword_field``
    from the processing pipeline's ``vars``. A string match on a text field becomes a phrase
    (``phrase_config['field']``, a template with ``{field}`` and ``{value}``); a superset
    translation emits a :class:`~taintsigma.errors.TranslationWarning`; what a phrase cannot
    express raises :class:`~taintsigma.errors.UnsupportedByTarget` naming rule, field and target.
    Unbound keywords search the keyword field (or, without one, use ``phrase_config['keyword']``).
    """

    phrase_config: ClassVar[dict[str, Any]] = {}
    # From a target's ``regex:`` mapping (see text_aware); empty: the backend's own regexes.
    regex_config: ClassVar[dict[str, Any]] = {}

    # ---- configuration from the pipeline ---------------------------------------------------

    def _pipeline(self) -> Any:
        pipeline = getattr(self, "last_processing_pipeline", None)
        if pipeline is None:
            pipeline = getattr(self, "processing_pipeline", None)
        return pipeline

    def text_fields(self) -> frozenset[str]:
        """Target field names the pipeline declares as analysed text."""
        return declared_text_fields(self._pipeline())

    def keyword_field(self) -> str | None:
        """The field unbound keywords search, if the pipeline names one."""
        return declared_keyword_field(self._pipeline())

    def is_text_field(self, field: str | None) -> bool:
        """True if ``field`` is declared as analysed text by the pipeline."""
        return field is not None and field in self.text_fields()

    def target_name(self) -> str:
        """The target id used in messages (the backend's plugin identifier)."""
        return str(getattr(self, "identifier", None) or _identifier_of(type(self)))

    # ---- messages ------------------------------------------------------------------------------

    def _rule_id(self) -> str | None:
        rule = getattr(self, "_taintsigma_rule", None)
        return rule_id(rule) if rule is not None else None

    def unsupported(self, field: str | None, reason: str) -> UnsupportedByTarget:
        """Build the error for a valid rule the target cannot express (caller raises it)."""
        where = f"field '{field}'" if field is not None else "a keyword search"
        rule_id = self._rule_id()
        rule = f"rule {rule_id}: " if rule_id else ""
        return SigmaUnsupportedByTarget(
            f"{rule}target '{self.target_name()}' cannot express {where}: {reason}",
            rule_id=rule_id,
        )

    def warn_superset(self, field: str | None, reason: str) -> None:
        """Emit the TranslationWarning of a safe but broader translation."""
        where = f"field '{field}'" if field is not None else "a keyword search"
        rule_id = self._rule_id()
        rule = f"rule {rule_id} " if rule_id else ""
        warnings.warn(
            f"{rule}({self.target_name()}): {where}: {reason}; the query may match more "
            f"events than the rule",
            TranslationWarning,
            stacklevel=3,
        )

    # ---- bookkeeping: the rule being converted and the depth of 'not' ----------------------------

    def convert_rule(
        self, rule: Any, output_format: str | None = None, callback: Any = None
    ) -> Any:
        previous = getattr(self, "_taintsigma_rule", None)
        self._taintsigma_rule = rule
        try:
            return super().convert_rule(rule, output_format, callback)  # type: ignore[misc]
        finally:
            self._taintsigma_rule = previous

    def convert_condition_not(self, cond: ConditionNOT, state: ConversionState) -> Any:
        self._taintsigma_negations = getattr(self, "_taintsigma_negations", 0) + 1
        try:
            return super().convert_condition_not(cond, state)  # type: ignore[misc]
        finally:
            self._taintsigma_negations -= 1

    def negated(self) -> bool:
        """True while converting inside an odd number of ``not``."""
        return getattr(self, "_taintsigma_negations", 0) % 2 == 1

    # ---- the phrase ---------------------------------------------------------------------------

    def escape_phrase(self, text: str) -> str:
        """Escape ``text`` for the inside of a phrase (``phrase_config['escape']`` characters)."""
        body = getattr(self, "string_literal_body", None)
        if body is not None:  # a string literal of its own (taintsigma.convert.literals)
            return str(body(text))
        chars = self.phrase_config.get("escape", '\\"')
        return "".join("\\" + c if c in chars else c for c in text)

    def render_phrase(self, field: str | None, text: str) -> str:
        """Return the phrase query for ``text`` on ``field`` (``None``: the keyword template)."""
        value = self.escape_phrase(text)
        if field is None:
            return str(self.phrase_config["keyword"]).format(value=value)
        return str(self.phrase_config["field"]).format(
            field=self.escape_and_quote_field(field),  # type: ignore[attr-defined]
            value=value,
        )

    def convert_text_match(
        self, field: str | None, value: SigmaString, state: ConversionState
    ) -> Any:
        """Translate a string match on a text field (``None``: unbound, keyword template)."""
        if value.s and all(p is SpecialChars.WILDCARD_MULTI for p in value.s):
            # '*' alone means any value: the backend's own form (an existence test) is exact.
            return self._convert_stock_string(field, value, state)
        match = classify_text_value(
            value, token_wildcard=bool(self.phrase_config.get("token_wildcard", False))
        )
        if (
            match.kind == "unsupported"
            or match.pieces
            or (match.kind == "superset" and self.negated())
        ):
            # The whole-value wildcard (EQL, ES|QL) is exact: better than an AND of pieces.
            whole = self.render_whole_value(field, value)
            if whole is not None:
                return whole
        if match.kind == "unsupported":
            raise self.unsupported(field, match.reason)
        if match.kind == "superset":
            if self.negated():
                raise self.unsupported(
                    field,
                    f"{match.reason}; under 'not' that broader query would exclude events the "
                    f"rule keeps",
                )
            self.warn_superset(field, match.reason)
        if match.pieces:
            return self.render_pieces(field, match.pieces, state)
        if match.token_wildcard:
            return self._convert_stock_string(field, value, state)
        return self.render_phrase(field, match.phrase)

    def render_pieces(
        self, field: str | None, pieces: tuple[TextMatch, ...], state: ConversionState
    ) -> Any:
        """The AND of the pieces of a value with wildcards inside, grouped."""
        rendered = [
            self._convert_stock_string(field, SigmaString(piece.pattern), state)
            if piece.token_wildcard
            else self.render_phrase(field, piece.phrase)
            for piece in pieces
        ]
        if len(rendered) == 1:
            return rendered[0]
        joined = f" {self.and_token} ".join(rendered)  # type: ignore[attr-defined]
        return self.group_expression.format(expr=joined)  # type: ignore[attr-defined]

    def render_whole_value(self, field: str | None, value: SigmaString) -> str | None:
        """The target's wildcard match over the whole text value (``phrase_config['whole_value']``,
        a template with ``{field}`` and ``{pattern}``), for a value no phrase expresses; None
        when the target has none or the value holds a literal ``*``, ``?`` or ``\\`` (whose
        escapes the target's pattern syntax may not read as Sigma means).

        ``whole_value_lower`` lower-cases the pattern, for a template that lower-cases the
        field (Sigma matches without case).
        """
        template = self.phrase_config.get("whole_value")
        if not template or field is None:
            return None
        if has_literal(value, PATTERN_CHARS) or not all(
            isinstance(part, (str, SpecialChars)) for part in value.s  # a placeholder: no form
        ):
            return None
        lower = bool(self.phrase_config.get("whole_value_lower", False))
        text = self.escape_phrase(with_wildcards(value, str.lower if lower else str))
        return str(template).format(
            field=self.escape_and_quote_field(field),  # type: ignore[attr-defined]
            pattern=text,
        )

    def _convert_stock_string(
        self, field: str | None, value: SigmaString, state: ConversionState
    ) -> Any:
        if field is None:
            return super().convert_condition_val_str(  # type: ignore[misc]
                ConditionValueExpression(value), state
            )
        return super().convert_condition_field_eq_val_str(  # type: ignore[misc]
            ConditionFieldEqualsValueExpression(field, value), state
        )

    # ---- pySigma hooks ------------------------------------------------------------------------

    def convert_condition_field_eq_val_str(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if self.is_text_field(cond.field):
            return self.convert_text_match(cond.field, cond.value, state)
        return super().convert_condition_field_eq_val_str(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_val_str_case_sensitive(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if self.is_text_field(cond.field):
            raise self.unsupported(
                cond.field,
                "the 'cased' modifier needs case-sensitive matching, but an analysed text "
                "field is indexed lowercased",
            )
        return super().convert_condition_field_eq_val_str_case_sensitive(  # type: ignore[misc]
            cond, state
        )

    def convert_condition_field_eq_val_num(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if self.is_text_field(cond.field):
            return self.convert_text_match(cond.field, SigmaString(str(cond.value)), state)
        if pipeline_field_types(self._pipeline()).get(cond.field) in STRING_TYPES:
            # `uid: 0` on a keyword field: EQL and ES|QL refuse a keyword compared with a
            # number, and Elasticsearch stores the keyword "0" anyway: compare it as text.
            as_text = copy.copy(cond)
            as_text.value = SigmaString(str(cond.value))
            return self.convert_condition_field_eq_val_str(as_text, state)
        return super().convert_condition_field_eq_val_num(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_val_re(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if self.is_text_field(cond.field):
            raise self.unsupported(
                cond.field,
                "a regular expression on an analysed text field runs against single words, "
                "not the whole value",
            )
        if self.regex_config:
            return self.convert_regex(cond.field, cond.value)
        return super().convert_condition_field_eq_val_re(cond, state)  # type: ignore[misc]

    def decide_convert_condition_as_in_expression(
        self, cond: ConditionOR | ConditionAND, state: ConversionState
    ) -> bool:
        if any(
            isinstance(arg, ConditionFieldEqualsValueExpression) and self.is_text_field(arg.field)
            for arg in cond.args
        ):
            return False  # each value becomes its own phrase
        types = pipeline_field_types(self._pipeline())
        if any(
            isinstance(arg, ConditionFieldEqualsValueExpression)
            and isinstance(arg.value, SigmaNumber)
            and types.get(arg.field) in STRING_TYPES
            for arg in cond.args
        ):
            return False  # each number becomes a string comparison
        return super().decide_convert_condition_as_in_expression(cond, state)  # type: ignore[misc]

    def convert_condition_field_eq_expansion(
        self, cond: ConditionFieldEqualsValueExpression, state: ConversionState
    ) -> Any:
        if self.is_text_field(cond.field) and isinstance(cond.value, SigmaExpansion):
            or_cond = ConditionOR(
                [ConditionFieldEqualsValueExpression(cond.field, v) for v in cond.value.values],
                cond.source,
            )
            if getattr(self, "parenthesize", False) and len(or_cond.args) > 1:
                # Backends that parenthesize everything (Lucene, EQL) do not group expansions
                # by precedence: their stock form is an already grouped in-list.
                return self.convert_condition_group(or_cond, state)  # type: ignore[attr-defined]
            return self.convert_condition_or(or_cond, state)  # type: ignore[attr-defined]
        return super().convert_condition_field_eq_expansion(cond, state)  # type: ignore[misc]

    def _bind_keyword(self, cond: ConditionValueExpression, value: Any) -> Any | None:
        """Bind an unbound value to the pipeline's keyword field; None when there is none."""
        field = self.keyword_field()
        if field is None:
            return None
        bound = ConditionFieldEqualsValueExpression(field, value)
        bound.parent = cond.parent
        return bound

    def convert_condition_val_str(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        value = as_contains(cond.value)
        bound = self._bind_keyword(cond, value)
        if bound is not None:
            return self.convert_condition_field_eq_val(bound, state)  # type: ignore[attr-defined]
        if "keyword" in self.phrase_config:
            return self.convert_text_match(None, value, state)
        return super().convert_condition_val_str(cond, state)  # type: ignore[misc]

    def convert_condition_val_num(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        if self.keyword_field() is not None or "keyword" in self.phrase_config:
            as_text = ConditionValueExpression(SigmaString(str(cond.value)))
            as_text.parent = cond.parent
            return self.convert_condition_val_str(as_text, state)
        return super().convert_condition_val_num(cond, state)  # type: ignore[misc]

    def convert_condition_val_re(
        self, cond: ConditionValueExpression, state: ConversionState
    ) -> Any:
        bound = self._bind_keyword(cond, cond.value)
        if bound is not None and isinstance(cond.value, SigmaRegularExpression):
            return self.convert_condition_field_eq_val(bound, state)  # type: ignore[attr-defined]
        if self.regex_config:
            raise self.unsupported(
                None,
                "an unbound regular expression searches the default fields, analysed text "
                "matched word by word",
            )
        return super().convert_condition_val_re(cond, state)  # type: ignore[misc]

    # ---- regular expressions (a search, translated to a whole-value Lucene regexp) ----------

    def convert_regex(self, field: str, value: SigmaRegularExpression) -> str:
        """Return the target's regexp test of ``field`` for the Sigma ``re`` value ``value``.

        ``regex_config['expression']`` is the template (``{field}``, ``{regex}``); ``inside``
        says how the Lucene regexp is written there: ``slashes`` (query_string ``/.../``, as
        is: the translation escapes ``/``) or ``string`` (a double-quoted string literal).
        A pattern without a Lucene equivalent raises UnsupportedByTarget.
        """
        flags = value.flags
        try:
            regexp = translate_regex(
                str(value.regexp),
                ignore_case=SigmaRegularExpressionFlag.IGNORECASE in flags,
                multiline=SigmaRegularExpressionFlag.MULTILINE in flags,
                dotall=SigmaRegularExpressionFlag.DOTALL in flags,
            )
        except RegexNotTranslatable as err:
            raise self.unsupported(
                field,
                f"the regular expression {str(value.regexp)!r} has no Lucene-regexp "
                f"equivalent: {err.reason}",
            ) from err
        if self.regex_config.get("inside") == "string":
            regexp = "".join(_STRING_ESCAPES.get(c, c) for c in regexp)
        return str(self.regex_config["expression"]).format(
            field=self.escape_and_quote_field(field),  # type: ignore[attr-defined]
            regex=regexp,
        )


def _identifier_of(backend_cls: type) -> str:
    # pySigma's own rule for plugin ids (LuceneBackend -> lucene, ESQLBackend -> esql).
    from sigma.plugins import InstalledSigmaPlugins

    return InstalledSigmaPlugins._get_backend_identifier(backend_cls, backend_cls.__name__)


def check_phrase_config(phrase: dict[str, Any]) -> None:
    """Raise TaintSigmaError if a target's ``phrase:`` mapping is malformed."""
    _check_section(phrase, "phrase", PHRASE_KEYS, "at least a 'field' template")
    _check_template(phrase, "phrase", "field", ("{field}", "{value}"))
    if phrase.get("keyword") is not None:
        _check_template(phrase, "phrase", "keyword", ("{value}",))


def check_regex_config(regex: dict[str, Any]) -> None:
    """Raise TaintSigmaError if a target's ``regex:`` mapping is malformed."""
    _check_section(regex, "regex", REGEX_KEYS, "an 'expression' template")
    _check_template(regex, "regex", "expression", ("{field}", "{regex}"))
    if regex.get("inside", "slashes") not in REGEX_INSIDE:
        raise TaintSigmaError(f"'regex.inside' must be one of: {', '.join(REGEX_INSIDE)}")


def _check_section(section: Any, name: str, known: frozenset[str], required: str) -> None:
    if not isinstance(section, dict):
        raise TaintSigmaError(f"'{name}' must be a mapping with {required}")
    unknown = set(section) - known
    if unknown:
        raise TaintSigmaError(
            f"unknown '{name}' keys: {', '.join(sorted(unknown))} "
            f"(known: {', '.join(sorted(known))})"
        )


def _check_template(section: dict[str, Any], name: str, key: str, slots: tuple[str, ...]) -> None:
    template = section.get(key)
    if not isinstance(template, str) or any(slot not in template for slot in slots):
        raise TaintSigmaError(f"'{name}.{key}' must be a template with {' and '.join(slots)}")


def text_aware(
    backend_cls: type[Backend],
    phrase: dict[str, Any],
    *,
    target_id: str | None = None,
    regex: dict[str, Any] | None = None,
) -> type[Backend]:
    """Return ``backend_cls`` made field-type aware with the phrase form ``phrase``.

    ``phrase`` comes from a target's ``target.yml``: ``field`` (template with ``{field}`` and
    ``{value}``), optional ``keyword`` (template with ``{value}`` for an unbound phrase),
    ``escape`` (characters backslash-escaped inside the phrase) and ``token_wildcard`` (keep a
    single-word ``contains`` as a wildcard on that word). ``regex`` (a target's ``regex:``)
    turns Sigma's ``re`` searches into whole-value Lucene regexps: ``expression`` (template with
    ``{field}`` and ``{regex}``) and ``inside`` (``slashes`` or ``string``, see
    :meth:`TextFieldMixin.convert_regex`). The subclass keeps the backend's name and its plugin
    identifier (or ``target_id``).

    >>> from sigma.backends.elasticsearch import LuceneBackend
    >>> cls = text_aware(LuceneBackend, {"field": '{field}:"{value}"', "escape": '\\\\"'})
    >>> cls.identifier, issubclass(cls, TextFieldMixin)
    ('lucene', True)
    """
    check_phrase_config(phrase)
    if regex is not None:
        check_regex_config(regex)
    regex_items = tuple(sorted((regex or {}).items()))
    return _text_aware(backend_cls, tuple(sorted(phrase.items())), target_id, regex_items)


@cache
def _text_aware(
    backend_cls: type[Backend],
    phrase_items: tuple[tuple[str, Any], ...],
    target_id: str | None,
    regex_items: tuple[tuple[str, Any], ...] = (),
) -> type[Backend]:
    identifier = target_id or _identifier_of(backend_cls)
    base_config = dict(getattr(backend_cls, "phrase_config", {}) or {})
    aware = issubclass(backend_cls, TextFieldMixin)
    bases = (backend_cls,) if aware else (TextFieldMixin, backend_cls)
    metaclass = type(backend_cls)  # pySigma backends are ABCs
    return metaclass(
        f"TextAware{backend_cls.__name__}",
        bases,
        {
            "__module__": __name__,
            "__doc__": f"{backend_cls.__name__} with phrase queries on analysed text fields.",
            "identifier": identifier,
            "name": backend_cls.name,
            "phrase_config": {**base_config, **dict(phrase_items)},
            "regex_config": dict(regex_items) or dict(getattr(backend_cls, "regex_config", {})),
        },
    )
