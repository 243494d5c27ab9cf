"""Load and validate Sigma rules: files and folders in, one pySigma SigmaCollection out."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sigma.collection import SigmaCollection
from sigma.correlations import SigmaCorrelationRule
from sigma.exceptions import SigmaError, SigmaRuleLocation
from sigma.rule import SigmaRule, SigmaRuleBase

from taintsigma.errors import ErrorPolicy, RuleLoadError, TaintSigmaError
from taintsigma.resources import bundled_rules_dir
from taintsigma.rules.batch import gc_paused
from taintsigma.rules.modifiers import register_modifiers
from taintsigma.rules.yamltext import load_documents

RULE_SUFFIXES = (".yml", ".yaml")
EVENTS_SUFFIX = ".events"


@dataclass
class LoadedRules:
    """Rules loaded from files, in file order, with the errors of the files that failed.

    ``collection`` is pySigma's SigmaCollection (filters already applied, correlation
    references resolved); ``errors`` holds one RuleLoadError per broken file when loaded
    with ``on_error=ErrorPolicy.COLLECT``.
    """

    collection: SigmaCollection
    errors: list[RuleLoadError] = field(default_factory=list)

    def __iter__(self) -> Iterator[SigmaRule | SigmaCorrelationRule]:
        return iter(self.collection.rules)

    def __len__(self) -> int:
        return len(self.collection.rules)


def rule_files(
    paths: Iterable[Path | str], *, errors: list[RuleLoadError] | None = None
) -> list[Path]:
    """Expand files and folders into the rule files they hold, sorted within each folder.

    Folders are searched recursively for ``*.yml``/``*.yaml``; ``<stem>.events/`` folders (a
    rule's sample events) and hidden entries are skipped. A path that does not exist, or a
    folder that cannot be read, raises RuleLoadError; when an ``errors`` list is given, the
    error is appended to it instead and the other paths are still expanded.
    """
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        try:
            if path.is_dir():
                found.extend(_walk(path, errors))
            elif path.is_file():
                found.append(path)
            elif path.exists():
                raise RuleLoadError("not a regular file or folder", path=path)
            else:
                raise RuleLoadError("no such file or folder", path=path)
        except OSError as err:  # e.g. a name too long, or a folder on the way not searchable
            wrapped = RuleLoadError(f"cannot access: {err.strerror}", path=path)
            wrapped.__cause__ = err
            _raise_or_collect(wrapped, errors)
        except RuleLoadError as err:
            _raise_or_collect(err, errors)
    return found


def _raise_or_collect(err: RuleLoadError, errors: list[RuleLoadError] | None) -> None:
    if errors is None:
        raise err
    errors.append(err)


def _walk(folder: Path, errors: list[RuleLoadError] | None) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as err:
        raise RuleLoadError(f"cannot read folder: {err.strerror}", path=folder) from err
    for entry in entries:
        if entry.name.startswith(".") or entry.name.endswith(EVENTS_SUFFIX):
            continue
        if entry.is_dir():
            try:
                yield from _walk(entry, errors)
            except RuleLoadError as err:
                _raise_or_collect(err, errors)
        elif entry.suffix in RULE_SUFFIXES:
            if entry.is_file():
                yield entry
            else:  # a FIFO or device named *.yml would block or fail on read: name it instead
                _raise_or_collect(RuleLoadError("not a regular file", path=entry), errors)


@gc_paused()  # a rule tree is millions of long-lived objects: see rules/batch.py
def load_rules(
    paths: Iterable[Path | str] | None = None,
    *,
    on_error: ErrorPolicy = ErrorPolicy.RAISE,
) -> LoadedRules:
    """Load Sigma rules from files and folders (default: the bundled rules).

    Every file is parsed by pySigma once. With ``on_error=ErrorPolicy.RAISE`` the first broken
    file raises RuleLoadError; with ``COLLECT`` broken files are reported in ``errors`` and the
    good ones are still loaded.

    >>> rules = load_rules()
    >>> [r.title for r in rules]
    ['Tainted Kernel Module Load']
    """
    collections: list[SigmaCollection] = []
    errors: list[RuleLoadError] = []
    # When collecting, a missing or unreadable path is reported while the others still load.
    files = rule_files(
        [bundled_rules_dir()] if paths is None else paths,
        errors=errors if on_error is ErrorPolicy.COLLECT else None,
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
        merged.resolve_rule_references()
    except SigmaError as err:
        raise RuleLoadError(_sigma_message(err), path=_source_path(err)) from err
    return LoadedRules(collection=merged, errors=errors)


def load_rule_file(path: Path) -> SigmaCollection:
    """Parse one rule file into a SigmaCollection; any problem raises RuleLoadError naming it."""
    register_modifiers()  # Sigma v2.1 modifiers pySigma 1.5 lacks (utf16le) or gets wrong
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise RuleLoadError(f"not UTF-8 text (byte {err.start})", path=path) from err
    except OSError as err:
        raise RuleLoadError(f"cannot read: {err.strerror}", path=path) from err
    documents = load_documents(text, path)
    if not documents:
        raise RuleLoadError("empty file: no Sigma rule in it", path=path)
    for doc in documents:
        if not isinstance(doc, dict):
            raise RuleLoadError("not a Sigma rule: the document is not a mapping", path=path)
        _check_shape(doc, path)
    try:
        collection = SigmaCollection.from_dicts(
            documents,
            source=SigmaRuleLocation(path),
            collect_filters=True,
            resolve_references=False,
        )
    except SigmaError as err:
        raise RuleLoadError(_sigma_message(err), path=path, rule_id=_doc_id(documents)) from err
    except (TypeError, ValueError, AttributeError, KeyError) as err:
        # pySigma raises plain Python errors for some malformed shapes (a list where a map
        # belongs, say); they still name this file, never a traceback.
        raise RuleLoadError(
            f"malformed rule: {type(err).__name__}: {err}", path=path, rule_id=_doc_id(documents)
        ) from err
    return collection


def _check_shape(doc: dict, path: Path) -> None:
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


def _doc_id(documents: list[dict]) -> str | None:
    ids = [str(d["id"]) for d in documents if isinstance(d, dict) and d.get("id")]
    return ids[0] if len(ids) == 1 else None


def _source_path(err: SigmaError) -> Path | None:
    return err.source.path if getattr(err, "source", None) is not None else None


def _sigma_message(err: SigmaError) -> str:
    # pySigma appends " in <absolute path>" to its messages; we name the path ourselves.
    return ValueError.__str__(err).strip() or type(err).__name__


def rule_id(rule: SigmaRuleBase) -> str:
    """Return the rule's id as text, or its title when it has none."""
    return str(rule.id) if rule.id is not None else rule.title


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
