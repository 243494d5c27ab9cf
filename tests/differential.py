"""Real engines for differential tests: Elastic's `eql` Python engine and SQLite.

The eql engine runs the query of taintsigma's own ``eql`` target (pySigma's EqlBackend with
taintsigma's literal, regex and faithfulness layers), SQLite the query of pySigma's
sqliteBackend, on one event, so each verdict can be compared with the native evaluator's.
"""

from __future__ import annotations

import copy
import re
import sqlite3
from collections.abc import Mapping
from typing import Any

from sigma.collection import SigmaCollection
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import ValueListPlaceholderTransformation
from sigma.rule import SigmaRule

import taintsigma.evaluate  # noqa: F401  (registers the modifiers pySigma lacks)


class Unsupported(Exception):
    """The engine's backend cannot express the rule, or the engine cannot hold the event."""


# engine -> the modules it needs (the `test` extra of pyproject.toml installs them)
ENGINE_MODULES = {
    "eql": ("eql", "sigma.backends.elasticsearch"),
    "sqlite": ("sqlite3", "sigma.backends.sqlite"),
}


def require(engine: str) -> None:
    """Skip the calling test, naming what is missing, when an engine is not installed."""
    import importlib

    import pytest

    for module in ENGINE_MODULES[engine]:
        try:
            importlib.import_module(module)
        except ImportError:
            pytest.skip(f"{engine} engine not installed: no module {module!r}")


def _pipeline(
    pipeline: ProcessingPipeline | None, placeholders: Mapping[str, list[str]] | None
) -> ProcessingPipeline:
    expand = ProcessingPipeline(
        items=[ProcessingItem(ValueListPlaceholderTransformation())], vars=dict(placeholders or {})
    )
    return (copy.deepcopy(pipeline) + expand) if pipeline is not None else expand


def convert(
    backend_class: type,
    rule: SigmaRule,
    pipeline: ProcessingPipeline | None = None,
    placeholders: Mapping[str, list[str]] | None = None,
) -> str:
    """The query of ``rule`` from a stock pySigma backend; Unsupported if it refuses."""
    backend = backend_class(_pipeline(pipeline, placeholders))
    try:
        queries = backend.convert(SigmaCollection([copy.deepcopy(rule)]))
    except Exception as err:
        raise Unsupported(f"{backend_class.__name__}: {str(err).splitlines()[0][:120]}") from err
    if len(queries) != 1:
        raise Unsupported(f"{backend_class.__name__}: {len(queries)} queries")
    return queries[0]


# --- eql -----------------------------------------------------------------------------------


def eql_query(
    rule: SigmaRule,
    pipeline: ProcessingPipeline | None = None,
    placeholders: Mapping[str, list[str]] | None = None,
) -> str:
    """The query of taintsigma's own ``eql`` target (its backend, with every taintsigma
    translation: literals, refusals, regexes), run without the ECS field mapping so the
    rule's own field names reach the engine."""
    from taintsigma.convert.targets import load_target

    return convert(load_target("eql").backend_class(), rule, pipeline, placeholders)


def eql_verdict(query: str, event: Mapping[str, Any]) -> bool:
    """Does Elastic's eql Python engine return ``event`` for ``query``?"""
    import eql

    try:
        with eql.parser.elasticsearch_syntax, eql.parser.ignore_missing_functions:
            parsed = eql.parse_query(query)
    except eql.EqlError as err:
        raise Unsupported(f"eql engine: {str(err).splitlines()[0]}") from err
    found: list[Any] = []
    engine = eql.PythonEngine()
    engine.add_query(parsed)
    engine.add_output_hook(found.append)
    engine.stream_events([eql.Event.from_data(nest(event))])
    return bool(found)


def nest(event: Mapping[str, Any]) -> dict[str, Any]:
    """Flat dotted keys as objects, as Elasticsearch indexes ``{"process.name": …}``."""
    nested: dict[str, Any] = {}
    for key, value in event.items():
        value = nest(value) if isinstance(value, Mapping) else value
        *parents, last = key.split(".")
        target = nested
        for part in parents:
            target = target.setdefault(part, {})
        if isinstance(value, dict) and isinstance(target.get(last), dict):
            target[last].update(value)
        else:
            target[last] = value
    return nested


# --- SQLite --------------------------------------------------------------------------------


def sqlite_query(
    rule: SigmaRule,
    pipeline: ProcessingPipeline | None = None,
    placeholders: Mapping[str, list[str]] | None = None,
) -> str:
    from sigma.backends.sqlite import sqliteBackend

    return convert(sqliteBackend, rule, pipeline, placeholders)


def flatten(event: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in event.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def _regexp(pattern: str, value: Any) -> bool:
    return value is not None and re.search(pattern, str(value)) is not None


def sqlite_verdict(query: str, event: Mapping[str, Any]) -> bool:
    """Does SQLite return ``event`` for ``query``, with columns declared COLLATE NOCASE?

    Zircolite declares its columns ``COLLATE NOCASE`` so that ``=`` is case-insensitive as
    Sigma is; NUMERIC affinity stores numeric text as numbers so that ``<`` compares numbers.
    A column the query names but the event lacks exists, holding NULL.
    """
    flat = flatten(event)
    for name, value in list(flat.items()):
        if isinstance(value, (list, tuple, dict)):
            if name in query:
                raise Unsupported("sqlite: a row cannot hold a list")
            del flat[name]  # a list the query does not read
    columns = _one_spelling(dict(flat), query)
    for _ in range(50):
        try:
            return _run_sqlite(query, columns)
        except sqlite3.OperationalError as err:
            missing = re.fullmatch(r"no such column: (.+)", str(err))
            if missing is None or missing.group(1) in columns:
                raise Unsupported(f"sqlite: {err}") from err
            columns[missing.group(1)] = None
    raise Unsupported("sqlite: too many columns")


def _one_spelling(columns: dict[str, Any], query: str) -> dict[str, Any]:
    """SQLite's names ignore case, so a row cannot hold two fields differing only in case
    (auditd's ``syscall`` number and ``SYSCALL`` name): keep the one the query spells, drop
    the others; Unsupported when the query spells several, or reads them in another case."""
    groups: dict[str, list[str]] = {}
    for name in columns:
        groups.setdefault(name.lower(), []).append(name)
    for names in groups.values():
        if len(names) < 2:
            continue
        word = r"(?<![\w.\"]){}(?![\w.\"])"
        spelled = [n for n in names if re.search(word.format(re.escape(n)), query)]
        read = re.search(word.format(re.escape(names[0])), query, re.IGNORECASE)
        if len(spelled) > 1 or (read and not spelled):
            raise Unsupported(f"sqlite: names differing only in case: {', '.join(names)}")
        for name in names:
            if name not in spelled:
                del columns[name]
    return columns


def _run_sqlite(query: str, row: Mapping[str, Any]) -> bool:
    db = sqlite3.connect(":memory:")
    try:
        db.create_function("regexp", 2, _regexp, deterministic=True)
        names = sorted(row)
        columns = ", ".join(f'"{c}" NUMERIC COLLATE NOCASE' for c in names) or "dummy"
        db.execute(f"CREATE TABLE logs ({columns})")
        marks = ", ".join("?" for _ in names) or "NULL"
        db.execute(f"INSERT INTO logs VALUES ({marks})", [row[c] for c in names])
        return bool(db.execute(query).fetchall())
    finally:
        db.close()
