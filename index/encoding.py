"""Bytes to text: UTF-8 (the common case, checked first), a byte-order mark's encoding,
else the code page charset-normalizer detects (Latin-1, Windows-1252, UTF-16 without a
BOM, ...). Binary data is refused, not decoded into noise."""

from __future__ import annotations

import codecs

BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"))


def decode(raw: bytes) -> str:
    """Text from bytes: UTF-8 (the common case, checked first), a BOM's encoding, else the
    encoding charset-normalizer detects (Latin-1, Windows-1252, UTF-16 without BOM, ...).
    Raises UnicodeDecodeError when nothing fits or the result is not text (binary)."""
    text = _decode(raw)
    controls = sum(1 for ch in text if ord(ch) < 32 and ch not in "\t\n\r\f")
    if controls > max(2, len(text) // 50):
        raise UnicodeDecodeError("unknown", raw, 0, len(raw), "binary data, not text")
    return text


def _decode(raw: bytes) -> str:
    for bom, encoding in BOMS:
        if raw.startswith(bom):
            return raw.decode(encoding)  # a BOM that does not decode is not text
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        first = exc
    from charset_normalizer import from_bytes

    matches = list(from_bytes(raw))
    best = matches[0] if matches else None
    # Short Western texts fit several 8-bit code pages equally well; prefer Windows-1252
    # (what browsers read Latin-1 as, and the usual legacy encoding of news text).
    for m in matches:
        if best is not None and m.chaos <= best.chaos + 0.01 and \
                {"cp1252", "latin_1"} & {m.encoding, *m.could_be_from_charset}:
            best = m
            break
    if best is None or not str(best).strip():
        raise UnicodeDecodeError(first.encoding, first.object, first.start, first.end,
                                 "not UTF-8, and no other text encoding fits")
    return str(best)
