"""Sigma v2.1 value modifiers that pySigma 1.5 lacks or gets wrong, registered with pySigma.

:func:`register_modifiers` installs them; :func:`taintsigma.rules.loader.load_rules` calls it before
parsing, so conversion, export and evaluation all see the same modifiers (``import taintsigma``
alone changes nothing). What changes:

- ``utf16le`` exists (pySigma 1.5.1 has only ``wide``, ``utf16be`` and ``utf16``).
- The UTF-16 family encodes any text, not only ASCII, and ``utf16`` puts the real byte order
  mark (bytes FF FE) in front. pySigma keeps encoded bytes in a text string and base64-encodes
  that string as UTF-8, which turns the mark into EF BB BF. Here each byte of an encoding is one
  character (U+0000–U+00FF), and ``base64``/``base64offset`` encode such values byte for byte.
- ``base64``/``base64offset`` encode the value's text: pySigma encodes an escaped wildcard
  with its backslash (``a\\*b`` as ``a\\*b``, not ``a*b``).

For other ASCII values the results are exactly pySigma's, so conversions do not change.
"""

from __future__ import annotations

from base64 import b64encode
from typing import Any

from sigma.exceptions import SigmaValueError
from sigma.modifiers import SigmaBase64Modifier, SigmaBase64OffsetModifier, SigmaWideModifier
from sigma.types import SigmaExpansion, SigmaString

from sigma import modifiers as sigma_modifiers


def _encode_parts(val: SigmaString, codec: str, prefix: bytes = b"") -> SigmaString:
    parts: list[Any] = [prefix.decode("latin-1")] if prefix else []
    for item in val.s:
        parts.append(item.encode(codec).decode("latin-1") if isinstance(item, str) else item)
    encoded = SigmaString()
    encoded.s = parts
    return encoded._merge_strs()


class SigmaUTF16LEModifier(SigmaWideModifier):
    """``utf16le`` and ``wide``: the value encoded as UTF-16 little endian."""

    def modify(self, val: SigmaString) -> SigmaString:
        return _encode_parts(val, "utf-16-le")


class SigmaUTF16BEEncodingModifier(SigmaWideModifier):
    """``utf16be``: the value encoded as UTF-16 big endian."""

    def modify(self, val: SigmaString) -> SigmaString:
        return _encode_parts(val, "utf-16-be")


class SigmaUTF16BOMModifier(SigmaWideModifier):
    """``utf16``: UTF-16 little endian after the byte order mark FF FE."""

    def modify(self, val: SigmaString) -> SigmaString:
        return _encode_parts(val, "utf-16-le", prefix=b"\xff\xfe")


_BYTE_MODIFIERS = (SigmaUTF16LEModifier, SigmaUTF16BEEncodingModifier, SigmaUTF16BOMModifier)


def _value_bytes(modifier: Any, val: SigmaString) -> bytes:
    if val.contains_special():
        raise SigmaValueError(
            "Base64 encoding of strings with wildcards is not allowed", source=modifier.source
        )
    text = val.to_plain_regex()  # the text itself: str(val) would escape a literal '*'
    if any(m in _BYTE_MODIFIERS for m in modifier.applied_modifiers):
        return text.encode("latin-1")
    return text.encode("utf-8")


class SigmaBase64BytesModifier(SigmaBase64Modifier):
    """``base64`` of the value's bytes (UTF-8, or the bytes of a UTF-16 modifier)."""

    def modify(self, val: SigmaString) -> SigmaString:
        return SigmaString(b64encode(_value_bytes(self, val)).decode())


class SigmaBase64OffsetBytesModifier(SigmaBase64OffsetModifier):
    """``base64offset`` of the value's bytes, at the three offsets base64 can place them."""

    def modify(self, val: SigmaString) -> SigmaExpansion:
        data = _value_bytes(self, val)
        return SigmaExpansion(
            [
                SigmaString(
                    b64encode(i * b" " + data)[
                        self.start_offsets[i] : self.end_offsets[(len(data) + i) % 3]
                    ].decode()
                )
                for i in range(3)
            ]
        )


# identifier -> modifier class, overriding or adding to pySigma's table
EXTRA_MODIFIERS: dict[str, type[sigma_modifiers.SigmaModifier]] = {
    "utf16le": SigmaUTF16LEModifier,
    "wide": SigmaUTF16LEModifier,
    "utf16be": SigmaUTF16BEEncodingModifier,
    "utf16": SigmaUTF16BOMModifier,
    "base64": SigmaBase64BytesModifier,
    "base64offset": SigmaBase64OffsetBytesModifier,
}


def register_modifiers() -> None:
    """Install the modifiers above in pySigma's tables (idempotent)."""
    for name, cls in EXTRA_MODIFIERS.items():
        sigma_modifiers.modifier_mapping[name] = cls
    reverse = sigma_modifiers.reverse_modifier_mapping
    for name, cls in EXTRA_MODIFIERS.items():
        # ``wide`` and ``utf16le`` share a class: a rule written back keeps the spec's name.
        reverse.setdefault(cls.__name__, "utf16le" if cls is SigmaUTF16LEModifier else name)
