"""Which files a rule path names: folders walked for ``*.yml``/``*.yaml`` (no pySigma here,
so that the compiled-rule cache can find a rule set's files without loading them)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from taintsigma.errors import RuleLoadError

RULE_SUFFIXES = (".yml", ".yaml")
EVENTS_SUFFIX = ".events"


PathArg = str | Path | Iterable[str | Path]


def as_paths(paths: PathArg) -> list[str | Path]:
    """One path (``str`` or ``Path``) or several, as a list: a lone string is never iterated
    character by character."""
    if isinstance(paths, str | Path):
        return [paths]
    return list(paths)


def rule_files(
    paths: PathArg,
    *,
    errors: list[RuleLoadError] | None = None,
    notes: list[str] | None = None,
) -> list[Path]:
    """Expand files and folders into the rule files they hold, sorted within each folder.

    Folders are searched recursively for ``*.yml``/``*.yaml``; ``<stem>.events/`` folders (a
    rule's sample events) and hidden entries are skipped, and so are symbolic links to folders
    met inside a folder (a link loop would load the same rules again and again, or never end),
    each with a line in ``notes``. A path that does not exist, or a folder that cannot be read,
    raises RuleLoadError; when an ``errors`` list is given, the error is appended to it
    instead and the other paths are still expanded.
    """
    found: list[Path] = []
    for raw in as_paths(paths):
        path = Path(raw)
        try:
            if path.is_dir():
                found.extend(_walk(path, errors, notes))
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


def _walk(
    folder: Path, errors: list[RuleLoadError] | None, notes: list[str] | None
) -> Iterator[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError as err:
        raise RuleLoadError(f"cannot read folder: {err.strerror}", path=folder) from err
    for entry in entries:
        if entry.name.startswith(".") or entry.name.endswith(EVENTS_SUFFIX):
            continue
        if entry.is_dir():
            if entry.is_symlink():  # as the log-input walk: folder links are not followed
                if notes is not None:
                    notes.append(f"{entry}: skipped: symbolic link to a folder (not followed)")
                continue
            try:
                yield from _walk(entry, errors, notes)
            except RuleLoadError as err:
                _raise_or_collect(err, errors)
        elif entry.suffix in RULE_SUFFIXES:
            if entry.is_file():
                yield entry
            else:  # a FIFO or device named *.yml would block or fail on read: name it instead
                _raise_or_collect(RuleLoadError("not a regular file", path=entry), errors)


