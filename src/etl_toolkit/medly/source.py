"""The medly data dir: its layout, each file's top-level shape, and its records
streamed (ijson) with the progress reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import ijson

from etl_toolkit.errors import InputError
from etl_toolkit.progress import Reporter

T = TypeVar("T")
# Records between two progress reports of a file (a report costs a tell()).
PROGRESS_EVERY = 5_000


@dataclass
class DataDir:
    root: Path
    user_data: Path
    subjects: list[str]

    def course(self, s: str) -> Path:
        return self.root / "curriculum_data" / f"{s}_course.json"

    def exams(self, s: str) -> Path:
        return self.root / "curriculum_data" / f"{s}_exams.json"

    def practices(self, s: str) -> Path:
        return self.root / "curriculum_data" / f"{s}_practices.json"


def discover(root: Path) -> DataDir:
    """The layout of docs/formats/medly.md; every missing file is named."""
    if not root.is_dir():
        raise InputError(
            f"data dir {root.resolve() if not root.is_absolute() else root} does not exist "
            "or is not a folder",
            hint="pass --data-dir (a relative path starts at the current folder), or "
            "generate one: etl medly generate --out DIR",
        )
    curriculum = root / "curriculum_data"
    user_data = root / "user_data" / "user_data.json"
    subjects = sorted(p.name[: -len("_course.json")] for p in curriculum.glob("*_course.json"))
    missing = [str(user_data)] if not user_data.is_file() else []
    if not subjects:
        missing.append(str(curriculum / "<subject>_course.json"))
    for s in subjects:
        for suffix in ("exams", "practices"):
            path = curriculum / f"{s}_{suffix}.json"
            if not path.is_file():
                missing.append(str(path))
    if missing:
        raise InputError(
            f"data dir {root} is incomplete: missing {', '.join(missing)}",
            hint="see docs/formats/medly.md for the layout, or pass --data-dir",
        )
    return DataDir(root, user_data, subjects)


UTF8_BOM = b"\xef\xbb\xbf"
# Longest first: a UTF-32 little-endian mark starts with the UTF-16 one.
_OTHER_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32 (little-endian)",
    b"\x00\x00\xfe\xff": "UTF-32 (big-endian)",
    b"\xff\xfe": "UTF-16 (little-endian)",
    b"\xfe\xff": "UTF-16 (big-endian)",
}
HEAD = 16


@contextmanager
def open_json(path: Path) -> Iterator[BinaryIO]:
    """The file for ijson, past a leading UTF-8 byte order mark (Windows tools write
    one; JSON parsers refuse it, the sales CSVs accept it). A UTF-16 or UTF-32 file
    is refused naming its encoding: JSON files are UTF-8 (RFC 8259)."""
    with path.open("rb") as fp:
        head = fp.read(4)
        for bom, encoding in _OTHER_BOMS.items():
            if head.startswith(bom):
                raise InputError(
                    f"{path}: the file is {encoding} (it starts with a byte order mark), "
                    "expected UTF-8",
                    hint="save it as UTF-8 (with or without a byte order mark)",
                )
        fp.seek(len(UTF8_BOM) if head.startswith(UTF8_BOM) else 0)
        yield fp


def _not_json(path: Path, exc: Exception, fp: BinaryIO | None = None) -> InputError:
    """`not valid JSON`; when the very start is wrong, what the file starts with
    (bytes as Python writes them: b'\\x89PNG...'), so an undecodable start says what it is."""
    # The parser's own message quotes the text around the error across several lines
    # ("(right here) ------^"); its first line says what is wrong.
    said = exc.args[0] if exc.args else exc
    said = said.decode("utf-8", "replace") if isinstance(said, bytes) else str(said)
    said = (said.strip().splitlines() or ["?"])[0]
    if fp is not None:
        fp.seek(0)
        fp.seek(len(UTF8_BOM) if fp.read(3) == UTF8_BOM else 0)
        start = fp.read(HEAD)
        found = f"it starts with {start!r}" if start else "the file is empty"
        return InputError(f"{path}: not valid JSON, {found} ({said})", hint=FORMAT_HINT)
    if "premature EOF" in said:
        size = path.stat().st_size
        return InputError(
            f"{path}: not valid JSON: it ends ({size:,} bytes) before its JSON does",
            hint="was it cut off (an interrupted copy or download)? fetch it again",
        )
    return InputError(f"{path}: not valid JSON ({said})", hint=FORMAT_HINT)


FORMAT_HINT = "the file must be JSON in UTF-8: see docs/formats/medly.md"


# Numbers are read as the parser gives them without use_float: int, or Decimal for
# any other spelling. parse.json_int then sees `3.0` as written, and `1e400`
# (which overflows a float and made the C parser fail the whole file) is one
# record refused with its reason.
def items(path: Path, reporter: Reporter | None = None) -> Iterator[Any]:
    """The records of a file that is an array of them (course, exams, practices)."""
    return _stream(path, lambda fp: ijson.items(fp, "item"), reporter)


def targets(path: Path, reporter: Reporter | None = None) -> Iterator[tuple[str, Any]]:
    """(document path, attempt) of user data's `targets` object."""
    return _stream(path, lambda fp: ijson.kvitems(fp, "targets"), reporter)


def _stream(
    path: Path, parse: Callable[[BinaryIO], Iterator[T]], reporter: Reporter | None
) -> Iterator[T]:
    with open_json(path) as fp:
        try:
            yield from _reported(parse(fp), fp, reporter)
        except ijson.JSONError as exc:
            raise _not_json(path, exc) from None


def _reported(records: Iterator[T], fp: BinaryIO, reporter: Reporter | None) -> Iterator[T]:
    """The records, with the records done and the file's position reported every
    PROGRESS_EVERY records (the parser reads ahead by its buffer: about right)."""
    if reporter is None or reporter.progress is None:
        yield from records
        return
    n = 0
    for record in records:
        yield record
        n += 1
        if n == PROGRESS_EVERY:
            reporter.advance(n, bytes_done=fp.tell())
            n = 0
    reporter.advance(n, bytes_done=fp.tell())


_KINDS = {
    "start_map": "an object",
    "start_array": "an array",
    "string": "a string",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}
USER_DATA_SHAPE = 'an object {"targets": {<document path>: <attempt>, ...}}'


def _shape_error(path: Path, where: str, event: str, expected: str) -> InputError:
    return InputError(
        f"{path}: {where} is {_KINDS.get(event, event)}, expected {expected}",
        hint="see docs/formats/medly.md for the shape of each file",
    )


def check_shape(path: Path, expected: str) -> None:
    """Refuse a file whose top level is not what the format says, before anything
    is written (issue 13, section 4: an array of users read as 0 users and
    "nothing changed"). Streams: it reads the first event, and for user data
    only as far as the `targets` key."""
    with open_json(path) as fp:
        try:
            events = ijson.parse(fp)
            try:
                _, event, _ = next(events)
            except ijson.JSONError as exc:
                raise _not_json(path, exc, fp) from None
            if expected != "targets":
                if event != "start_array":
                    raise _shape_error(path, "top level", event, f"an array of {expected}")
                return
            if event != "start_map":
                raise _shape_error(path, "top level", event, USER_DATA_SHAPE)
            for prefix, event, value in events:
                if prefix == "" and event == "map_key" and value == "targets":
                    _, event, _ = next(events)
                    if event != "start_map":
                        raise _shape_error(
                            path, '"targets"', event, "an object mapping document paths to attempts"
                        )
                    return
            raise InputError(
                f'{path}: the top-level object has no key "targets", expected {USER_DATA_SHAPE}',
                hint="see docs/formats/medly.md for the shape of each file",
            )
        except ijson.JSONError as exc:
            raise _not_json(path, exc) from None
        except StopIteration:
            raise InputError(f"{path}: not valid JSON (it ends too early)") from None


def check_shapes(dd: DataDir) -> None:
    check_shape(dd.user_data, "targets")
    for subject in dd.subjects:
        check_shape(dd.course(subject), "units")
        check_shape(dd.exams(subject), "paper sets")
        check_shape(dd.practices(subject), "practice banks")
