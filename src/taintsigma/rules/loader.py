"""Load and validate Sigma rules: files and folders in, one pySigma SigmaCollection out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule, SigmaExtendedCorrelationCondition
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule, SigmaRuleBase

from taintsigma.errors import ErrorPolicy, RuleLoadError, TaintSigmaError
from taintsigma.resources import bundled_rules_dir
from taintsigma.rules.batch import gc_paused
from taintsigma.rules.files import EVENTS_SUFFIX as EVENTS_SUFFIX  # re-exported: the
from taintsigma.rules.files import RULE_SUFFIXES as RULE_SUFFIXES  # loader's API names them
from taintsigma.rules.files import PathArg as PathArg
from taintsigma.rules.files import as_paths as as_paths
from taintsigma.rules.files import rule_files as rule_files
from taintsigma.rules.modifiers import register_modifiers
from taintsigma.rules.yamltext import load_documents


@dataclass
class LoadedRules:
    """Rules loaded from files, in file order, with the errors of the files that failed.

    ``collection`` is pySigma's SigmaCollection (filters already applied, correlation
    references resolved); ``errors`` holds one RuleLoadError per broken file when loaded
    with ``on_error=ErrorPolicy.COLLECT``; ``notes`` what a folder walk skipped on purpose
    (symbolic links to folders), one line each.
    """

    collection: SigmaCollection
    errors: list[RuleLoadError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def __iter__(self) -> Iterator[SigmaRule | SigmaCorrelationRule]:
        return iter(self.collection.rules)

    def __len__(self) -> int:
        return len(self.collection.rules)


@gc_paused()  # a rule tree is millions of long-lived objects: see rules/batch.py
def load_rules(
    paths: PathArg | None = None,
    *,
    on_error: ErrorPolicy = ErrorPolicy.RAISE,
) -> LoadedRules:
    """Load Sigma rules from a file or folder, or several (default: the bundled rules).

    Every file is parsed by pySigma once. With ``on_error=ErrorPolicy.RAISE`` the first broken
    file raises RuleLoadError; with ``COLLECT`` broken files are reported in ``errors`` and the
    good ones are still loaded. A correlation rule referring to a rule that is not there is
    such an error, naming the correlation's file.

    >>> rules = load_rules()
    >>> [r.title for r in rules]
    ['Tainted Kernel Module Load']
    """
    collections: list[SigmaCollection] = []
    errors: list[RuleLoadError] = []
    notes: list[str] = []
    # When collecting, a missing or unreadable path is reported while the others still load.
    files = rule_files(
        [bundled_rules_dir()] if paths is None else paths,
        errors=errors if on_error is ErrorPolicy.COLLECT else None,
        notes=notes,
    )
    for path in files:
        try:
            collections.append(load_rule_file(path))
        except RuleLoadError as err:
            if on_error is ErrorPolicy.RAISE:
                raise
            errors.append(err)
    try:
        merged = SigmaCollection.merge(collections, resolve_references=False)
        _apply_filters(merged)
        merged = _without_dangling_correlations(merged, on_error, errors)
        merged.resolve_rule_references()
    except SigmaError as err:
        raise RuleLoadError(_sigma_message(err), path=_source_path(err)) from err
    return LoadedRules(collection=merged, errors=errors, notes=notes)


def _without_dangling_correlations(
    collection: SigmaCollection, on_error: ErrorPolicy, errors: list[RuleLoadError]
) -> SigmaCollection:
    """Drop each correlation rule referring to a rule the collection lacks (and, in turn, those
    referring to a dropped one), as an error naming its file; raise it under RAISE."""
    while True:
        dangling: list[tuple[SigmaCorrelationRule, str]] = []
        for rule in collection.rules:
            if isinstance(rule, SigmaCorrelationRule):
                try:
                    for reference in _references(rule):
                        collection[reference]  # raises SigmaRuleNotFoundError
                except SigmaError:
                    dangling.append((rule, reference))
        if not dangling:
            return collection
        for rule, reference in dangling:
            wrapped = RuleLoadError(
                f"the correlation refers to rule '{reference}', which is not among the loaded "
                "rules (load the file that holds it too)",
                path=rule_path(rule),
                rule_id=rule_id(rule),
            )
            if on_error is ErrorPolicy.RAISE:
                raise wrapped
            errors.append(wrapped)
        dropped = {id(rule) for rule, _ in dangling}
        collection = SigmaCollection(
            init_rules=[r for r in collection.rules if id(r) not in dropped],
            errors=collection.errors,
            collect_filters=True,
            resolve_references=False,
        )


def _references(rule: SigmaCorrelationRule) -> list[str]:
    if rule.rules is not None:
        return [ref.reference for ref in rule.rules]
    if isinstance(rule.condition, SigmaExtendedCorrelationCondition):
        return list(rule.condition.get_referenced_rules())
    return []


def load_rule_file(path: Path) -> SigmaCollection:
    """Parse one rule file into a SigmaCollection; any problem raises RuleLoadError naming it."""
    register_modifiers()  # Sigma v2.1 modifiers pySigma 1.5 lacks (utf16le) or gets wrong
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RuleLoadError(f"not UTF-8 text (byte {err.start})", path=path) from err
    except OSError as err:
        raise RuleLoadError(f"cannot read: {err.strerror}", path=path) from err
    parsed = load_documents(text, path)
    if not parsed:
        raise RuleLoadError("empty file: no Sigma rule in it", path=path)
    documents: list[dict[str, Any]] = []
    for doc in parsed:
        if not isinstance(doc, dict):
            raise RuleLoadError("not a Sigma rule: the document is not a mapping", path=path)
        _check_shape(doc, path)
        documents.append(doc)
    try:
        collection = SigmaCollection.from_dicts(
            documents,
            source=SigmaRuleLocation(path),
            collect_filters=True,
            resolve_references=False,
        )
    except SigmaError as err:
        raise RuleLoadError(_sigma_message(err), path=path, rule_id=_doc_id(documents)) from err
    except RecursionError as err:
        raise RuleLoadError(
            "malformed rule: nested too deeply", path=path, rule_id=_doc_id(documents)
        ) from err
    except (TypeError, ValueError, AttributeError, KeyError) as err:
        # pySigma raises plain Python errors for some malformed shapes (a list where a map
        # belongs, say); they still name this file, never a traceback.
        raise RuleLoadError(
            f"malformed rule: {type(err).__name__}: {err}", path=path, rule_id=_doc_id(documents)
        ) from err
    return collection


def _check_shape(doc: dict[str, Any], path: Path) -> None:
    kinds = [k for k in ("detection", "correlation", "filter") if k in doc]
    if doc.get("action") in ("global", "reset", "repeat"):
        return
    if not kinds:
        raise RuleLoadError(
            "not a Sigma rule: it has no 'detection' (nor 'correlation' or 'filter') section",
            path=path,
            rule_id=str(doc.get("id")) if doc.get("id") else None,
        )


def _apply_filters(collection: SigmaCollection) -> None:
    if collection.filters:
        collection.apply_filters(collection.filters)


def _doc_id(documents: list[dict[str, Any]]) -> str | None:
    ids = [str(d["id"]) for d in documents if isinstance(d, dict) and d.get("id")]
    return ids[0] if len(ids) == 1 else None


def _source_path(err: SigmaError) -> Path | None:
    source = getattr(err, "source", None)
    return source.path if source is not None else None


def _sigma_message(err: SigmaError) -> str:
    # pySigma appends " in <absolute path>" to its messages; we name the path ourselves.
    return ValueError.__str__(err).strip() or type(err).__name__


def rule_id(rule: SigmaRuleBase) -> str:
    """Return the rule's id as text, or its title when it has none."""
    return str(rule.id) if rule.id is not None else rule.title


def shared_ids(rules: Iterable[SigmaRuleBase]) -> list[tuple[SigmaRuleBase, SigmaRuleBase]]:
    """``(rule, first)`` for each rule whose id an earlier rule already has, in order."""
    first: dict[str, SigmaRuleBase] = {}
    pairs: list[tuple[SigmaRuleBase, SigmaRuleBase]] = []
    for rule in rules:
        if rule.id is None:
            continue
        earlier = first.setdefault(str(rule.id), rule)
        if earlier is not rule:
            pairs.append((rule, earlier))
    return pairs


def shared_id_message(first: SigmaRuleBase) -> str:
    """What to say of a rule that has the id of ``first``."""
    where = rule_path(first)
    return (
        f"same id as rule '{first.title}'"
        + (f" in {where}" if where is not None else "")
        + ": give each rule its own id"
    )


def rule_path(rule: SigmaRuleBase) -> Path | None:
    """Return the file a rule was loaded from, if known."""
    return rule.source.path if rule.source is not None else None


def rule_stem(rule: SigmaRuleBase) -> str:
    """Return the stem used to name a rule's outputs: its file stem, else its id.

    A file holding several rules names them ``<stem>``, ``<stem>_2``, … in file order; callers
    that need unique names across a collection use :func:`output_stems`.
    """
    path = rule_path(rule)
    return path.stem if path is not None else rule_id(rule)


def output_stems(rules: Iterable[SigmaRuleBase]) -> list[str]:
    """Unique output stems for rules, in order (``<file stem>``, then ``<file stem>_2`` …)."""
    seen: dict[str, int] = {}
    stems: list[str] = []
    for rule in rules:
        stem = rule_stem(rule)
        seen[stem] = seen.get(stem, 0) + 1
        stems.append(stem if seen[stem] == 1 else f"{stem}_{seen[stem]}")
    return stems


def as_error(err: Exception, rule: SigmaRuleBase | None = None) -> TaintSigmaError:
    """Wrap any error raised while processing ``rule`` as a TaintSigmaError naming it."""
    if isinstance(err, TaintSigmaError):
        if rule is not None and err.rule_id is None:
            err.rule_id = rule_id(rule)
        if rule is not None and err.path is None:
            err.path = rule_path(rule)
        return err
    message = _sigma_message(err) if isinstance(err, SigmaError) else f"{type(err).__name__}: {err}"
    return TaintSigmaError(
        message,
        path=rule_path(rule) if rule is not None else None,
        rule_id=rule_id(rule) if rule is not None else None,
    )
