"""Which files a `load-pdf` run reads: the files named, and the PDFs under the folders named."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from etl_toolkit.errors import InputError


def discover(paths: Sequence[Path]) -> list[Path]:
    """Files named directly, and *.pdf (any case) found recursively under folders.

    A folder without a PDF is an error, not an empty success: it is most likely
    the wrong folder (issue 13, section 3). Files named directly are kept even
    when missing: each one fails on its own with its reason.
    """
    found: list[Path] = []
    empty: list[str] = []
    for p in paths:
        if p.is_dir():
            entries = sorted(p.rglob("*"))
            pdfs = [c for c in entries if c.suffix.lower() == ".pdf"]
            if not pdfs:
                others = sum(1 for c in entries if c.is_file())
                empty.append(f"{p} (found {others} other file{'' if others == 1 else 's'})")
            found.extend(pdfs)
        else:
            found.append(p)
    if empty:
        raise InputError(
            f"no PDF under {', '.join(empty)}: looked for *.pdf (any case) in the folder "
            "and its subfolders",
            hint="pass a folder that holds PDFs, or name the files",
        )
    return list(dict.fromkeys(found))
