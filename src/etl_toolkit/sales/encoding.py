"""The encoding of a sales file: UTF-8 (docs/formats/sales.md).

An encoding belongs to the file, not to a row: a Latin-1, Windows-1252 or
UTF-16 export fails as a whole (nothing of it loaded, no ledger entry), on every
run until it is converted, and the error says how. The CSV reader decodes
lossily, so a valid file is never read a second time for this: the file is
searched for its first bad byte only once a row has shown one.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from etl_toolkit.errors import InputError


def utf16_header(rel: str, path: Path, first: bytes) -> None:
    """Refuse a UTF-16 file by its header row (`first`, as bytes): every other byte
    of an ASCII header is NUL, which would otherwise read as columns that are not
    there."""
    if first.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in first:
        raise InputError(
            f"{rel}: the file is UTF-16 (a byte order mark or NUL bytes in the header),"
            " expected UTF-8; nothing of this file was loaded",
            hint=f"re-save it as UTF-8, e.g. iconv -f utf-16 -t utf-8 {path.name} > fixed.csv,"
            " then run again",
        )


def not_utf8(rel: str, path: Path, line: int, byte: bytes) -> InputError:
    """The error for a file that is not UTF-8, at its first bad byte."""
    return InputError(
        f"{rel}: line {line}: not valid UTF-8 (byte 0x{byte.hex()});"
        " nothing of this file was loaded",
        hint="re-save it as UTF-8, e.g. iconv -f latin1 -t utf-8 (or -f cp1252)"
        f" {path.name} > fixed.csv, then run again",
    )


def invalid_utf8(path: Path) -> tuple[int, bytes] | None:
    """The physical line (1-based) and the byte where `path` stops being valid
    UTF-8, or None (a valid file whose text holds U+FFFD itself)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    line, held = 1, b""
    with path.open("rb") as fp:
        while True:
            chunk = fp.read(1 << 20)
            try:
                decoder.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                data = held + chunk  # exc.start counts from the bytes held back
                return line + data[: exc.start].count(b"\n"), data[exc.start : exc.start + 1]
            if not chunk:
                return None
            # A character cut by the chunk's end is held back (never a newline).
            held = decoder.getstate()[0]
            line += chunk[: len(chunk) - len(held)].count(b"\n")
