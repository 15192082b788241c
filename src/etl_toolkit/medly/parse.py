"""What every medly parser shares: the field rules, Skip, and judging one record.

Pure functions (no database): the loader streams records through the parsers
(parse_user.py: attempts; parse_curriculum.py: courses, exams, practice banks),
which make named records (records.py) or a Skip with its reason. A Skip
names the entity, a reason from a fixed vocabulary (so the report can count
them), a key to find the record again and its position in the file (a JSON
Pointer, RFC 6901), which with the file's content identifies the record.

Numbers arrive as the parser reads them: int for an integer spelling, Decimal
for any other (`3.0`, `3.5`, `1e400`), so the integer rule below sees exactly
what the file says and no number is lost to float overflow.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

from etl_toolkit.errors import InputError

T = TypeVar("T")

_FRACTION = re.compile(r"(\.\d{1,6})\d*")
# Every integer the sources carry lands in an `integer` column.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# Integral decimals (`3.0`) loaded as integers: how many per field. The report
# shows them per file, because a user must see that their values were rewritten.
Cleaned = Counter[str]


@dataclass(frozen=True)
class Skip:
    entity: str
    reason: str
    key: str | None
    raw: Any
    position: str = ""


def pointer(*parts: str | int) -> str:
    """A JSON Pointer (RFC 6901): `/0/papers/2` for the third paper of the first set."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def own_key(rec: Any, *fields: str) -> str | None:
    """What a user can search their file for: the record's own key fields as
    `field=value` (`questionID=aqa_1_1_A`, `unitIndex=3.5`), None when it has none
    (the position still finds it)."""
    if not isinstance(rec, dict):
        return None
    found = []
    for f in fields:
        value = rec.get(f)
        if value is not None:
            text = value if isinstance(value, str) else raw_json(value)
            found.append(f"{f}={text[:100]}")
    return " ".join(found) or None


class Invalid(InputError):
    """A record-level defect; the message is the reason. The parsers turn it into
    a Skip: it never leaves them."""


def parse_ts(value: Any, field: str) -> datetime:
    """ISO 8601 with `Z` or an offset, fraction of any length; naive means UTC."""
    if value is None:
        raise Invalid(f"{field} missing")
    if not isinstance(value, str):
        raise Invalid(f"{field} is not a string")
    text = _FRACTION.sub(r"\1", value.strip())  # Python keeps microseconds at most
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{field} malformed") from None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def opt_ts(value: Any, field: str) -> datetime | None:
    return None if value is None else parse_ts(value, field)


def json_int(value: Any, field: str) -> tuple[int, bool]:
    """An integer read from JSON: (the integer, whether it was written as a decimal).

    JSON has one number type, so `3.0`, `3.00` and `3e0` are the integer 3
    (issue 13, section 1). Refused with a reason: a fraction (`3.5`), a value an
    integer column cannot hold (`1e400`, 2**31), a boolean (Python's bool is
    an int, JSON's `true` is not a number) and a string (`"3"`: the format
    says int, and every other field of the spec is typed the same way).
    """
    if isinstance(value, bool):
        raise Invalid(f"{field} is not an integer")
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise Invalid(f"{field} is out of range")
        return value, False
    if isinstance(value, Decimal | float):
        if value != value:  # NaN: not JSON, yet no parser's quirk should load it
            raise Invalid(f"{field} is not an integer")
        # The range first: int() of a huge exponent (`1e999999999`) would build it digit by digit.
        if not INT_MIN <= value <= INT_MAX:
            raise Invalid(f"{field} is out of range")
        if value != int(value):
            raise Invalid(f"{field} is not an integer")
        return int(value), True
    raise Invalid(f"{field} is not an integer")


def required_int(value: Any, field: str, noted: list[str]) -> int:
    """json_int for one field of a record; a normalised field is noted in `noted`
    (the caller counts it in its Cleaned once the whole record is accepted)."""
    if value is None:
        raise Invalid(f"{field} missing")
    n, normalised = json_int(value, field)
    if normalised:
        noted.append(field)
    return n


def int_field(value: Any, field: str, noted: list[str]) -> int | None:
    """required_int for a field that may be missing (inlined: the hot path of a load)."""
    if value is None:
        return None
    n, normalised = json_int(value, field)
    if normalised:
        noted.append(field)
    return n


def str_field(value: Any, field: str) -> str | None:
    """A string, NUL removed (PostgreSQL text cannot hold it); missing or empty: None."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Invalid(f"{field} is not a string")
    return value.replace("\x00", "")


def required_str(value: Any, field: str) -> str:
    text = str_field(value, field)
    if text is None:
        raise Invalid(f"{field} missing")
    return text


def list_field(value: Any, field: str) -> list[Any]:
    """Missing arrays are empty arrays; anything else that is not a list is a defect."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise Invalid(f"{field} is not a list")
    return value


def _decimal_as_float(value: Any) -> float:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def json_text(value: Any, field: str) -> str | None:
    """For COPY into jsonb (NUL cannot be stored: it becomes U+FFFD). Decimals go
    back to floats, as before; one too large for a float (`1e400`) refuses the
    record instead of failing the whole COPY."""
    if value is None:
        return None
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=_decimal_as_float)
    except ValueError:
        raise Invalid(f"{field} holds a number too large to store") from None
    return text.replace("\\u0000", "\\ufffd")


def _raw_number(value: Any) -> Any:
    if isinstance(value, Decimal):
        as_float = float(value)
        # A number a float cannot hold is kept as its text: the raw record stays whole.
        return as_float if as_float not in (float("inf"), float("-inf")) else str(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def raw_json(value: Any) -> str:
    """A skipped record as stored in medly.skipped.raw: always storable."""
    text = json.dumps(value, ensure_ascii=False, default=_raw_number)
    return text.replace("\\u0000", "\\ufffd")


def judged(
    entity: str,
    rec: Any,
    position: str,
    keys: tuple[str, ...],
    cleaned: Cleaned,
    build: Callable[[list[str]], T],
) -> T | Skip:
    """`build(noted)` for one record, or its Skip when it raises Invalid (keyed by
    the first of `keys` the record has). The fields build noted as normalised
    integers are counted in `cleaned` only when the record is accepted."""
    noted: list[str] = []
    try:
        record = build(noted)
    except Invalid as exc:
        key = next(filter(None, (own_key(rec, f) for f in keys)), None)
        return Skip(entity, str(exc), key, rec, position)
    cleaned.update(noted)
    return record


def children(rec: Any, field: str) -> list[Any]:
    """The records nested in an accepted record's list field (a paper's questions, a
    bank's chunks and items); anything but a list holds none. Unlike a missing or
    wrong field of the record itself, this skips nothing: the parent stays."""
    value = rec.get(field) if isinstance(rec, dict) else None
    return value if isinstance(value, list) else []
