"""The one error hierarchy of taintsigma: every failure a user can see is a TaintSigmaError."""

from __future__ import annotations

import enum
from pathlib import Path


class ErrorPolicy(enum.Enum):
    """What a batch API does with a per-rule error: raise it, or collect it and go on."""

    RAISE = "raise"
    COLLECT = "collect"


class TaintSigmaError(Exception):
    """Root of all taintsigma errors. ``str(err)`` is one line, ready for a terminal."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        line: int | None = None,
        rule_id: str | None = None,
        hint: str | None = None,
        cli_hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = Path(path) if path is not None else None
        self.line = line
        self.rule_id = rule_id
        self.hint = hint
        self.cli_hint = cli_hint

    def __str__(self) -> str:
        return self._render(self.hint)

    def cli_message(self) -> str:
        """The line the CLI prints: its hint in command-line syntax (``--regex-engine re``)
        where the library's names a Python argument (``regex_engine='re'``)."""
        return self._render(self.cli_hint if self.cli_hint is not None else self.hint)

    def _render(self, hint: str | None) -> str:
        message = f"{self.message}; {hint}" if hint else self.message
        where = ""
        if self.path is not None:
            where = str(self.path)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        rule = f"rule {self.rule_id}: " if self.rule_id and self.rule_id not in self.message else ""
        return " ".join(f"{where}{rule}{message}".split())


class RuleLoadError(TaintSigmaError):
    """A rule file cannot be read or is not a valid Sigma rule."""


class TargetNotFoundError(TaintSigmaError):
    """No target (or export format, or target option) of that name exists."""


class UnsupportedByTarget(TaintSigmaError):
    """A valid rule uses something the target cannot express faithfully."""


class ConversionError(TaintSigmaError):
    """pySigma failed to convert a rule for a target."""


class RuleCompileError(TaintSigmaError):
    """A rule cannot be compiled into a native matcher (for example a regex RE2 cannot run)."""


class ExportError(TaintSigmaError):
    """A rule cannot be packaged in an export format."""


class InputError(TaintSigmaError):
    """An input of a scan (file, directory, stream) cannot be read."""


class TranslationWarning(UserWarning):
    """A lossy but safe translation: the query may match more than the Sigma rule does."""
