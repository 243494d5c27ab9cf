"""Read event fields for compiled matchers: dotted names, nested objects, flat keys, lists."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

# A field that is not in the event at all (distinct from a field whose value is null).
MISSING: Any = type(
    "Missing", (), {"__repr__": lambda self: "MISSING", "__bool__": lambda self: False}
)()

Getter = Callable[[Mapping[str, Any]], Any]


def compile_getter(name: str) -> Getter:
    """Return a function reading field ``name`` from an event, or MISSING.

    ``process.name`` is read from nested mappings (``{"process": {"name": …}}``), else from the
    flat key ``"process.name"``, else from any other split of the dotted name
    (``{"process": {"name.x": …}}`` for ``process.name.x``). Where the path crosses a list of objects, the values of all elements are
    collected into a list (a list value matches if any element does).

    >>> compile_getter("process.name")({"process": {"name": "kernel"}})
    'kernel'
    """
    if "." not in name:

        def get_plain(event: Mapping[str, Any]) -> Any:
            return event.get(name, MISSING)

        return get_plain
    parts = tuple(name.split("."))
    # For each position in the path, the keys that may continue it there: the longest first
    # ({"log": {"syslog.facility.name": …}} is found too), computed once.
    steps = tuple(
        tuple((".".join(parts[start:end]), end) for end in range(len(parts), start, -1))
        for start in range(len(parts))
    )
    first, rest = parts[0], parts[1:]

    def fallback(event: Mapping[str, Any]) -> Any:
        value = event.get(name, MISSING)
        if value is not MISSING:
            return value
        return _descend(event, steps, 0)

    if len(parts) == 2:
        second = parts[1]

        def get_two(event: Mapping[str, Any]) -> Any:
            obj = event.get(first)
            if type(obj) is dict:
                value = obj.get(second, MISSING)
                if value is not MISSING:
                    return value
            return fallback(event)

        return get_two
    if len(parts) == 3:
        second, third = parts[1], parts[2]

        def get_three(event: Mapping[str, Any]) -> Any:
            obj = event.get(first)
            if type(obj) is dict:
                obj = obj.get(second)
                if type(obj) is dict:
                    value = obj.get(third, MISSING)
                    if value is not MISSING:
                        return value
            return fallback(event)

        return get_three

    def get_dotted(event: Mapping[str, Any]) -> Any:
        # the common case first (adapters yield nested ECS): one key per part
        obj = event.get(first, MISSING)
        for part in rest:
            if type(obj) is not dict:
                break
            obj = obj.get(part, MISSING)
        else:
            if obj is not MISSING:
                return obj
        return fallback(event)

    return get_dotted


def _descend(obj: Any, steps: tuple, start: int) -> Any:
    if isinstance(obj, list):
        found = [v for item in obj if (v := _descend(item, steps, start)) is not MISSING]
        if not found:
            return MISSING
        return [x for v in found for x in (v if isinstance(v, list) else [v])]
    if not isinstance(obj, Mapping):
        return MISSING
    for key, end in steps[start]:
        if key in obj:
            value = obj[key]
            if end == len(steps):
                return value
            found = _descend(value, steps, end)
            if found is not MISSING:
                return found
    return MISSING


def as_text(value: Any) -> str | None:
    """The text a string pattern is matched against: numbers and booleans as they print."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return None


def iter_strings(obj: Any) -> Iterator[str]:
    """Every scalar value of an event as text, in any nesting (keyword searches)."""
    if isinstance(obj, Mapping):
        for value in obj.values():
            yield from iter_strings(value)
    elif isinstance(obj, (list, tuple)):
        for value in obj:
            yield from iter_strings(value)
    else:
        text = as_text(obj)
        if text is not None:
            yield text
