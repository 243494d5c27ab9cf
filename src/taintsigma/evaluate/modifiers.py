"""Sigma v2.1 value modifiers that pySigma 1.5 lacks, registered with pySigma's modifier table.

Importing :mod:`taintsigma.evaluate` registers them (never ``import taintsigma`` alone): rules
that use them must be loaded after that import.
"""

from __future__ import annotations

from sigma import modifiers as sigma_modifiers
from sigma.modifiers import SigmaWideModifier


class SigmaUTF16LEModifier(SigmaWideModifier):
    """``utf16le``: the value encoded as UTF-16 little endian, the same as ``wide``."""


# Sigma v2.1 modifiers keyed by their identifier; pySigma 1.5.1 knows all but ``utf16le``.
EXTRA_MODIFIERS: dict[str, type[sigma_modifiers.SigmaModifier]] = {
    "utf16le": SigmaUTF16LEModifier,
}


def register_modifiers() -> None:
    """Add the missing modifiers to pySigma's tables (idempotent; existing entries are kept)."""
    for name, cls in EXTRA_MODIFIERS.items():
        sigma_modifiers.modifier_mapping.setdefault(name, cls)
        sigma_modifiers.reverse_modifier_mapping.setdefault(cls.__name__, name)
