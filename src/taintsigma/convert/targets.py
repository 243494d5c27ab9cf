"""Targets as data: ``backends/<id>/target.yml`` names a pySigma backend, format and pipelines."""

from __future__ import annotations

import copy
import difflib
import importlib
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from sigma.conversion.base import Backend
from sigma.exceptions import SigmaPipelineParsingError
from sigma.processing.pipeline import ProcessingPipeline

from taintsigma.errors import TaintSigmaError, TargetNotFoundError
from taintsigma.resources import bundled_backends_dir

TARGET_FILE = "target.yml"


@dataclass(frozen=True, kw_only=True)
class TargetOption:
    """A named variant of a target: extra pipeline layers applied after the target's own."""

    name: str
    description: str
    pipelines: tuple[Path, ...]
    # Layers of the target this option takes out (it brings its own in their place).
    replaces: tuple[Path, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Target:
    """One conversion target: which pySigma backend, which output format, which pipelines.

    >>> t = load_target("kibana-kql")
    >>> t.extension
    'kql'
    """

    id: str
    name: str
    folder: Path
    backend: str
    format: str = "default"
    extension: str = "txt"
    pipelines: tuple[Path, ...] = ()
    options: dict[str, TargetOption] = field(default_factory=dict)
    phrase: dict[str, str] | None = None
    # How Sigma `re` becomes a whole-value Lucene regexp (fieldtypes.text_aware); needs phrase.
    regex: dict[str, str] | None = None
    # Said as a warning whenever a rule searches one of the pipeline's text fields (a caveat of
    # the target language on analysed text, e.g. EQL in Elasticsearch).
    text_field_note: str | None = None
    # Said once per rule, naming the fields, when the rule compares a value with letters on a
    # keyword or wildcard field, which this target compares case-sensitively (convert.case).
    case_note: str | None = None
    # How string literals are written (taintsigma.convert.literals): 'eql' or 'esql'.
    literals: str | None = None
    # Characters the target cannot write literally in a value (refused, convert.faithful).
    no_literal: str = ""
    requires: str | None = None
    backend_options: dict[str, Any] = field(default_factory=dict)
    # Class attributes of the pySigma backend to override (its quoting and escaping tables),
    # for a fix that needs no code: e.g. the Lucene target quotes the operator words.
    backend_attributes: dict[str, Any] = field(default_factory=dict)
    # backend_class() results by imported pySigma class: each target's class is built once, so
    # it keeps its identity across calls (and the caches keyed on it stay small).
    _classes: dict[type[Backend], type[Backend]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def build_pipeline(self, options: tuple[str, ...] = ()) -> ProcessingPipeline:
        """Return a fresh ProcessingPipeline: the target's layers, then each option's layers
        (an option's ``replaces`` layers give way to its own, in their place)."""
        layers = list(self.pipelines)
        for name in options:
            option = self.option(name)
            # An option that replaces layers takes the place of the first one it replaces.
            at = next((i for i, layer in enumerate(layers) if layer in option.replaces), None)
            layers = [layer for layer in layers if layer not in option.replaces]
            if at is None:
                layers.extend(option.pipelines)
            else:
                layers[at:at] = option.pipelines
        pipeline = ProcessingPipeline()
        for path in layers:
            pipeline += load_pipeline_file(path)
        return pipeline

    def option(self, name: str) -> TargetOption:
        """Return the option called ``name`` or raise TargetNotFoundError."""
        try:
            return self.options[name]
        except KeyError:
            known = ", ".join(sorted(self.options)) or "none"
            raise TargetNotFoundError(
                f"target '{self.id}' has no option '{name}' (its options: {known})"
            ) from None

    def backend_class(self) -> type[Backend]:
        """Import and return the pySigma backend class, made field-type aware if configured.

        The class is built once per target; the import is tried on every call, so a backend
        that is not installed raises TargetNotFoundError each time.
        """
        base = self._import_backend()
        cls = self._classes.get(base)
        if cls is None:
            cls = self._classes[base] = self._derive_backend(base)
        return cls

    def _import_backend(self) -> type[Backend]:
        module_name, _, class_name = self.backend.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            hint = f"; install it with: pip install '{self.requires}'" if self.requires else ""
            raise TargetNotFoundError(
                f"target '{self.id}' needs the Python module {module_name}, which is not "
                f"installed{hint}"
            ) from err
        cls = getattr(module, class_name, None)
        if not (isinstance(cls, type) and issubclass(cls, Backend)):
            raise TargetNotFoundError(
                f"target '{self.id}': {self.backend} is not a pySigma backend class",
                path=self.folder / TARGET_FILE,
            )
        return cls

    def _derive_backend(self, cls: type[Backend]) -> type[Backend]:
        if not cls.__module__.startswith("taintsigma."):  # our own backends need no guard
            from taintsigma.convert.faithful import faithful

            cls = faithful(cls, self.id, self.no_literal)
        if self.literals:
            from taintsigma.convert.literals import with_literals

            try:
                cls = with_literals(cls, self.literals, self.id)
            except ValueError as err:
                raise TaintSigmaError(str(err), path=self.folder / TARGET_FILE) from err
        if self.backend_attributes:
            cls = _with_attributes(cls, self.backend_attributes, self.folder / TARGET_FILE)
        if self.phrase is not None:
            from taintsigma.convert.fieldtypes import text_aware

            try:
                cls = text_aware(cls, self.phrase, target_id=self.id, regex=self.regex)
            except TaintSigmaError as err:  # a malformed phrase: or regex: mapping
                err.path = err.path or self.folder / TARGET_FILE
                raise
        return cls

    def create_backend(self, options: tuple[str, ...] = ()) -> Backend:
        """Return a new backend instance with a fresh pipeline for this target."""
        return self.backend_class()(
            processing_pipeline=self.build_pipeline(options), **self.backend_options
        )


def _with_attributes(cls: type[Backend], attributes: dict[str, Any], spec: Path) -> type[Backend]:
    """Subclass ``cls`` (same name, so the same plugin identifier) with overridden attributes.

    Only existing attributes can be overridden; a regular-expression attribute takes its
    pattern as text, any other keeps its type.
    """
    namespace: dict[str, Any] = {"__module__": cls.__module__, "__doc__": cls.__doc__}
    for name, value in attributes.items():
        current = getattr(cls, name, _MISSING)
        if current is _MISSING or name.startswith("_") or callable(current):
            raise TaintSigmaError(
                f"backend_attributes: {cls.__name__} has no attribute '{name}'", path=spec
            )
        if isinstance(current, re.Pattern):
            try:
                value = re.compile(value)
            except (re.error, TypeError) as err:
                raise TaintSigmaError(
                    f"backend_attributes: '{name}' is not a valid regular expression: {err}",
                    path=spec,
                ) from err
        elif current is not None and not isinstance(value, type(current)):
            raise TaintSigmaError(
                f"backend_attributes: '{name}' must be a {type(current).__name__}", path=spec
            )
        namespace[name] = value
    metaclass: type = type(cls)  # pySigma's Backend may have its own metaclass
    return cast("type[Backend]", metaclass(cls.__name__, (cls,), namespace))


_MISSING = object()


def load_pipeline_file(path: Path) -> ProcessingPipeline:
    """Load one pySigma processing pipeline from YAML, naming the file on any error.

    The file is read and parsed once; every call builds a new pipeline from a copy of that
    data, because a pipeline keeps state while it is applied.
    """
    try:
        return ProcessingPipeline.from_dict(copy.deepcopy(_pipeline_data(path)))
    except OSError as err:
        raise TaintSigmaError(f"cannot read pipeline: {err.strerror}", path=path) from err
    except Exception as err:  # pySigma raises many kinds for a bad pipeline; name the file.
        raise TaintSigmaError(f"invalid pipeline: {err}", path=path) from err


@cache
def _pipeline_data(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    try:
        return yaml.safe_load(text)
    except yaml.parser.ParserError as err:  # reported as ProcessingPipeline.from_yaml does
        raise SigmaPipelineParsingError("Error in parsing of a Sigma processing pipeline") from err


def targets_dir() -> Path:
    """The folder holding one subfolder per target (the bundled ``backends/``)."""
    return bundled_backends_dir()


@cache
def target_ids() -> tuple[str, ...]:
    """Ids of every target, sorted in the order of PRODUCT.md (then alphabetically)."""
    root = targets_dir()
    ids = [p.name for p in root.iterdir() if (p / TARGET_FILE).is_file()]
    preferred = ["kibana-kql", "lucene", "eql", "esql", "splunk"]
    return tuple(sorted(ids, key=lambda i: (preferred.index(i) if i in preferred else 99, i)))


@cache
def load_target(target_id: str) -> Target:
    """Read ``backends/<target_id>/target.yml``; an unknown id raises TargetNotFoundError.

    The bundled definitions do not change while running, so each is read once and the same
    Target is returned on every call (treat it as read-only; its pipelines are still built
    fresh by :meth:`Target.build_pipeline`).
    """
    if target_id not in target_ids():
        raise TargetNotFoundError(unknown_message("target", target_id, target_ids()))
    folder = targets_dir() / target_id
    spec_path = folder / TARGET_FILE
    try:
        spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise TaintSigmaError(f"cannot read target definition: {err}", path=spec_path) from err
    missing = [k for k in ("name", "backend") if not isinstance(spec, dict) or k not in spec]
    if missing:
        raise TaintSigmaError(
            f"invalid target definition: missing {', '.join(missing)}", path=spec_path
        )
    return Target(
        id=target_id,
        name=spec["name"],
        folder=folder,
        backend=spec["backend"],
        format=spec.get("format", "default"),
        extension=spec.get("extension", "txt"),
        pipelines=tuple(_resolve(folder, p) for p in spec.get("pipelines", [])),
        options={
            name: TargetOption(
                name=name,
                description=opt.get("description", ""),
                pipelines=tuple(_resolve(folder, p) for p in opt.get("pipelines", [])),
                replaces=tuple(_resolve(folder, p) for p in opt.get("replaces", [])),
            )
            for name, opt in (spec.get("options") or {}).items()
        },
        phrase=spec.get("phrase"),
        regex=spec.get("regex"),
        text_field_note=spec.get("text_field_note"),
        case_note=spec.get("case_note"),
        literals=spec.get("literals"),
        no_literal=str(spec.get("no_literal") or ""),
        requires=spec.get("requires"),
        backend_options=spec.get("backend_options") or {},
        backend_attributes=spec.get("backend_attributes") or {},
    )


def load_targets(target_ids_: list[str] | tuple[str, ...] | None = None) -> list[Target]:
    """Load the named targets (``None`` or ``['all']``: every target)."""
    if target_ids_ is None or list(target_ids_) == ["all"]:
        target_ids_ = target_ids()
    return [load_target(t) for t in target_ids_]


def _resolve(folder: Path, relative: str) -> Path:
    return (folder / relative).resolve()


def unknown_message(kind: str, name: str, known: tuple[str, ...] | list[str]) -> str:
    # A name contained in a known one is the likelier intent ('kql' → 'kibana-kql', not the
    # closer-spelled 'eql'); otherwise fall back to spelling similarity.
    close = [k for k in known if name and name.lower() in k][:1]
    if not close:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.4)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {kind} '{name}'{hint} (known: {', '.join(known)})"
