"""The one reader of JSON request bodies (REST operations and /graphql).

Python's json module accepts more than RFC 8259 JSON: `NaN`, `Infinity` and
`-Infinity`, and numbers such as `1e400` that it turns into an infinite float.
PostgreSQL refuses all of them in jsonb, and the recursive parsers (Python's,
pydantic's, PostgreSQL's) fail on deep nesting. Each is refused here, before
anything parses or stores the body, as a 4xx problem naming the limit.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import request

from api.errors import ApiError, FieldError
from etl_toolkit.errors import InputError

MAX_JSON_DEPTH = 64
LIMITS_DOC = (
    "Request bodies are JSON as RFC 8259 defines it: `NaN`, `Infinity`, `-Infinity` and "
    "numbers beyond the range of a double are refused, and so are arrays and objects "
    f"nested more than {MAX_JSON_DEPTH} levels deep."
)
_STRING_OR_BRACKET = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL)


class _NotJson(InputError):
    """A value Python's parser accepts that RFC 8259 JSON (and PostgreSQL) does not.

    Raised from json.loads' hooks, which know neither the status nor the problem's
    shape: read_json_body catches it and answers the ApiError."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON number (RFC 8259): send a number or null")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"the number {text[:40]} is out of range for a double")
    return value


def _too_deep(text: str) -> bool:
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False  # not enough brackets to nest that deep: the common case, no scan
    depth = 0
    for m in _STRING_OR_BRACKET.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif token in "]}":
            depth -= 1
    return False


def _refuse(status: int, detail: str, error_type: str) -> ApiError:
    title = "Bad Request" if status == 400 else "Unprocessable Content"
    return ApiError(
        status,
        title,
        detail,
        errors=[FieldError(field="body", detail=detail, type=error_type)],
    )


def read_json_body(*, optional: bool = False, status: int = 422) -> Any:
    """The request body parsed as RFC 8259 JSON, whatever its content type.

    `optional`: an empty body reads as `{}` (operations whose fields all have
    defaults). Anything unreadable is an ApiError with `status`.
    """
    raw = request.get_data(cache=True)
    if optional and not raw.strip():
        return {}
    try:
        text = raw.decode(json.detect_encoding(raw), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        raise _refuse(status, "the request body is not UTF-8 text", "json_invalid") from None
    if _too_deep(text):
        raise _refuse(
            status,
            f"the request body nests arrays or objects more than {MAX_JSON_DEPTH} levels deep",
            "json_too_deep",
        )
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except _NotJson as exc:
        raise _refuse(status, exc.message, "json_invalid") from None
    except (ValueError, RecursionError) as exc:
        # JSONDecodeError (a ValueError) and int() past its digit limit
        raise _refuse(status, f"the request body is not JSON: {exc}", "json_invalid") from None
