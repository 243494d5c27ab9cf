"""The compiled-rule cache: rules compiled once, read back by later scans without pySigma.

One file per rule set under ``$XDG_CACHE_HOME/taintsigma`` (or ``~/.cache/taintsigma``),
named by its key: a SHA-256 over the cache format, the Python and Unicode versions, the
installed taintsigma and pySigma (their dist-info names and taintsigma's source files' sizes
and times), the regex engine, the bytes of every file of the bundled ``backends/`` (the
pipelines), and the path and bytes of every rule file. The file holds a first line
``{"format", "key", "digest"}`` and a JSON body (``digest`` is its SHA-256): the number of
rules and, per event schema, each compiled rule's header and plan (evaluate/plan.py), plain
data only, never pickle. A file that is missing, truncated, damaged, of another key or
format, not the user's own or writable by others, or whose plans do not build is rebuilt from
the rules, never trusted.

Only clean rule sets are stored: no rule file that failed to load, no note from the folder
walk, no two rules sharing an id, no rule that failed to compile, no correlation rule (a set
with one is compiled from its rules every time). Writes are atomic (a temporary file renamed
over the entry); a cache folder that cannot be written is reported once and the scan goes on.
"""

from __future__ import annotations

import os
import sys
import unicodedata
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson

from taintsigma.errors import TaintSigmaError
from taintsigma.resources import bundled_backends_dir
from taintsigma.rules.files import PathArg, rule_files

try:  # CPython's own SHA-256: importing hashlib loads OpenSSL, a tenth of a warm start
    from _sha256 import sha256
except ImportError:  # another Python (3.12 calls it _sha2)
    from hashlib import sha256

FORMAT = 2
KEEP = 64  # cache files kept; the oldest beyond this are removed when one is written

Problem = Callable[[str], None]


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/taintsigma``, or ``~/.cache/taintsigma`` (XDG's default)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG specification: a relative path is ignored
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "taintsigma"


def rule_set_key(files: Iterable[Path], regex_engine: str) -> str:
    """The cache key of a rule set (see the module docstring); raises OSError when a file
    cannot be read."""
    digest = sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}:{len(data)}:".encode() + data)

    add("format", str(FORMAT).encode())
    add("python", f"{sys.version} {unicodedata.unidata_version}".encode())
    add("code", _code_signature())
    add("engine", regex_engine.encode())
    backends = bundled_backends_dir()
    for path in sorted(p for p in backends.rglob("*") if p.is_file()):
        add("pipeline", str(path.relative_to(backends)).encode())
        add("bytes", path.read_bytes())
    for path in files:
        add("rule", os.fsencode(path))
        add("bytes", Path(path).read_bytes())
    return digest.hexdigest()


def _code_signature() -> bytes:
    """taintsigma's source files (path, size, modification time: an edit in a checkout
    counts) and the installed pySigma and taintsigma distributions (name and version)."""
    package = Path(__file__).resolve().parent.parent
    parts: list[str] = []
    for folder, _, names in sorted(os.walk(package)):
        for name in sorted(names):
            if name.endswith(".py"):
                stat = os.stat(os.path.join(folder, name))
                parts.append(f"{folder}/{name} {stat.st_size} {stat.st_mtime_ns}")
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        parts.extend(
            f"{entry}/{name}"
            for name in sorted(names)
            if name.endswith(".dist-info") and name.lower().startswith(("pysigma-", "taintsigma-"))
        )
    return "\n".join(parts).encode()


class RuleCache:
    """The cache entry of one rule set: its key, its file, and (once read) its body."""

    def __init__(self, key: str, folder: Path | None = None, on_problem: Problem | None = None):
        self.key = key
        self.folder = folder if folder is not None else cache_dir()
        self.path = self.folder / f"{key}.json"
        self.on_problem = on_problem
        self.body: dict[str, Any] | None = None
        self._warned = False

    @property
    def count(self) -> int:
        assert self.body is not None
        return int(self.body["count"])

    def read(self) -> dict[str, Any] | None:
        """The entry's body if the file is there and sound (format, key, digest, shape), else
        None; a damaged file is left for :meth:`write` to replace."""
        try:
            with open(self.path, "rb") as stream:
                stat = os.fstat(stream.fileno())
                # Only the user's own file, which no one else may write: another user who
                # can write to the folder could otherwise plant plans with the right key.
                if stat.st_uid != os.getuid() or stat.st_mode & 0o022:
                    return None
                data = stream.read()
        except OSError:
            return None
        first, _, body = data.partition(b"\n")
        try:
            head = orjson.loads(first)
            if (
                type(head) is not dict
                or head.get("format") != FORMAT
                or head.get("key") != self.key
                or head.get("digest") != sha256(body).hexdigest()
            ):
                return None
            content = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not _sound(content):
            return None
        self.body = content
        return content

    def schema(self, name: str) -> list[Any] | None:
        """The stored rules of one event schema (header and plan each), or None."""
        if self.body is None:
            return None
        found = self.body["schemas"].get(name)
        return found if type(found) is list else None

    def extra(self, name: str) -> Any:
        """A stored value besides the rules (``reverse``: the Elastic mapping reversed, see
        scan/telemetry.py), or None when absent or of the wrong shape."""
        found = self.body.get(name) if self.body is not None else None
        return found if name == "reverse" and _reverse_sound(found) else None

    def write_extra(self, name: str, value: Any) -> None:
        """Store a value besides the rules, in an entry already written."""
        assert self.body is not None
        self._store({**self.body, name: value})

    def write(self, count: int, schema: str, entries: list[Any]) -> None:
        """Store one schema's compiled rules (with those already stored), atomically."""
        body = dict(self.body) if self.body is not None else {}
        body["schemas"] = {**body.get("schemas", {}), schema: entries}
        body["count"] = count
        self._store(body)

    def _store(self, body: dict[str, Any]) -> None:
        import tempfile  # here: a scan served by the cache writes nothing

        try:
            data = orjson.dumps(body)
        except TypeError as err:  # a number too big for JSON, say: not stored, still scanned
            self._problem(f"compiled rules not cached: {err}")
            return
        self.body = body
        head = orjson.dumps(
            {"format": FORMAT, "key": self.key, "digest": sha256(data).hexdigest()}
        )
        try:
            self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(head + b"\n" + data)
                os.replace(temporary, self.path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError as err:
            reason = (err.strerror or str(err)).lower()
            self._problem(f"cannot write the compiled-rule cache in {self.folder}: {reason}")
            return
        _prune(self.folder, self.path)

    def _problem(self, message: str) -> None:
        if self._warned:
            return
        self._warned = True
        if self.on_problem is not None:
            self.on_problem(message)
        else:
            warnings.warn(message, RuntimeWarning, stacklevel=3)


def _sound(content: Any) -> bool:
    """The body's shape: a rule count and, per schema, a list of {header, plan} objects (the
    plans themselves are checked as they are built)."""
    if type(content) is not dict or type(content.get("count")) is not int:
        return False
    schemas = content.get("schemas")
    if type(schemas) is not dict:
        return False
    return all(
        type(entries) is list
        and all(
            type(e) is dict and type(e.get("header")) is dict and type(e.get("plan")) is dict
            for e in entries
        )
        for entries in schemas.values()
    )


def _reverse_sound(value: Any) -> bool:
    """``{options: [fields, values, conditions]}`` (scan/telemetry.py, reversed_mappings) with
    the default mapping under ``""``: ``{key: {field: [name, …]}}``, ``{key: {field: {text:
    text}}}`` and ``{key: {field: value}}``."""
    if type(value) is not dict or "" not in value:
        return False
    return all(
        type(options) is str
        and type(entry) is list
        and len(entry) == 3
        and _nested(
            entry[0], lambda names: type(names) is list and all(type(n) is str for n in names)
        )
        and _nested(
            entry[1],
            lambda pairs: type(pairs) is dict
            and all(type(k) is str and type(v) is str for k, v in pairs.items()),
        )
        and _nested(entry[2], lambda wanted: type(wanted) in (str, int, float, bool, list))
        for options, entry in value.items()
    )


def _nested(value: Any, leaf: Callable[[Any], bool]) -> bool:
    return type(value) is dict and all(
        type(key) is str
        and type(inner) is dict
        and all(type(name) is str and leaf(item) for name, item in inner.items())
        for key, inner in value.items()
    )


def _prune(folder: Path, keep: Path) -> None:
    try:
        entries = [p for p in folder.iterdir() if p.suffix == ".json" and p != keep]
        if len(entries) < KEEP:
            return
        entries.sort(key=lambda p: p.stat().st_mtime_ns)
        for old in entries[: len(entries) - KEEP + 1]:
            old.unlink()
    except OSError:
        pass  # another scan pruning at the same time, say: nothing to report


def open_cache(
    paths: PathArg, regex_engine: str, on_problem: Problem | None = None
) -> RuleCache | None:
    """The cache entry of the rules at ``paths`` (read if there), or None for a rule set the
    cache does not serve: a path that is missing or cannot be read, a folder walk with notes,
    no rule file at all."""
    errors: list[Any] = []
    notes: list[str] = []
    try:
        files = rule_files(paths, errors=errors, notes=notes)
        if errors or notes or not files:
            return None
        entry = RuleCache(rule_set_key(files, regex_engine), on_problem=on_problem)
    except OSError:
        return None
    entry.read()
    return entry


def same_rules(entry: RuleCache, paths: PathArg, regex_engine: str) -> bool:
    """True when the rule files still have the bytes the entry's key was made from (a rule
    edited while it was being loaded must not be stored under the old key)."""
    try:
        return rule_set_key(rule_files(paths), regex_engine) == entry.key
    except (OSError, TaintSigmaError):
        return False


def entries_of(matcher: Any) -> list[dict[str, Any]]:
    """A compiled rule set's rules as the cache stores them: header and plan each."""
    return [{"header": rule.header.to_dict(), "plan": rule.plan} for rule in matcher.rules]


def matcher_of(entries: list[Any], regex_engine: str) -> Any:
    """The RuleSetMatcher of stored rules, built by the evaluator's one builder
    (taintsigma.evaluate.compiled.build_rule); None when an entry is damaged."""
    from taintsigma.evaluate.compiled import RuleHeader, build_rule
    from taintsigma.evaluate.ruleset import RuleSetMatcher
    from taintsigma.evaluate.values import CompileContext

    rules = []
    try:
        for entry in entries:
            header = RuleHeader.from_dict(entry["header"])
            plan = entry["plan"]
            fields = plan["keyword_fields"]
            if fields is not None and (
                type(fields) is not list or any(type(f) is not str for f in fields)
            ):
                raise TypeError("plan: keyword fields are not a list of text")
            ctx = CompileContext(
                rule_id=header.id,
                regex_engine=regex_engine,
                keyword_fields=tuple(fields) if fields is not None else None,
            )
            rules.append(build_rule(header, plan, ctx))
    except (TaintSigmaError, TypeError, ValueError, KeyError, IndexError, AttributeError,
            RecursionError):  # fmt: skip
        return None
    return RuleSetMatcher(rules=rules)
