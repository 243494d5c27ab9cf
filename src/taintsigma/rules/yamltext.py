"""Parse rule files' YAML: libyaml's C loader when PyYAML has it, the pure-Python one otherwise.

Both loaders build the same plain data (PyYAML's safe constructor: mappings, lists, strings,
numbers, booleans, dates, null) and both report the line of a syntax error; the C loader is
about ten times faster, which is most of the time of loading a large rule tree.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from taintsigma.errors import RuleLoadError

# PyYAML built without libyaml has no CSafeLoader: fall back to the pure-Python SafeLoader.
SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_documents(text: str, path: Path, *, loader: type | None = None) -> list[object]:
    """Every YAML document of ``text`` (empty ones dropped); bad YAML raises RuleLoadError.

    The error names ``path`` and, when the parser knows it, the 1-based line of the problem.
    ``loader`` overrides the loader class (the tests run both).
    """
    try:
        documents = list(yaml.load_all(text, Loader=loader or SAFE_LOADER))  # a safe loader
    except RecursionError as err:  # e.g. 20,000 nested lists
        raise RuleLoadError("invalid YAML: nested too deeply", path=path) from err
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else None
        problem = err.problem or str(err)
        raise RuleLoadError(f"invalid YAML: {problem}", path=path, line=line) from err
    except yaml.YAMLError as err:
        raise RuleLoadError(f"invalid YAML: {err}", path=path) from err
    return [doc for doc in documents if doc is not None]
