"""Input types shared by the REST models: what PostgreSQL can store, JSON's own integers."""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictStr, WithJsonSchema

MAX_JSON_BYTES = 64 * 1024
# What the document promises about text: no NUL. Unpaired surrogates are refused too,
# but a pattern cannot say so: Rust's and other regex engines (schemathesis validates
# with one) cannot compile a surrogate range and would drop the whole pattern.
STORABLE_PATTERN = r"^[^\u0000]*$"
# Whitespace as Python's str.strip() sees it, spelt out: ECMA's and Rust's \s differ
# from Python's (\x1c-\x1f, \x85, \ufeff), and the document must mean what we check.
_SPACE = r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
JSON_VALUE_REF = "#/components/schemas/JsonValue"
# Any JSON value whose strings (and keys) are storable: added to the OpenAPI components.
JSON_VALUE_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "pattern": STORABLE_PATTERN},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "array", "items": {"$ref": JSON_VALUE_REF}},
        {
            "type": "object",
            "propertyNames": {"pattern": STORABLE_PATTERN},
            "additionalProperties": {"$ref": JSON_VALUE_REF},
        },
    ]
}


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(value: str) -> str:
    """PostgreSQL text holds no NUL, and UTF-8 has no lone surrogates (JSON can carry both)."""
    if _UNSTORABLE.search(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


def _storable_strings(value: Any) -> None:
    if isinstance(value, str):
        _storable(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _storable(k)
            _storable_strings(v)
    elif isinstance(value, list):
        for v in value:
            _storable_strings(v)


def _storable_json(value: Any) -> Any:
    """Storable strings everywhere (keys too) and a bounded size."""
    _storable_strings(value)
    text = json.dumps(value, ensure_ascii=False)
    if len(text.encode("utf-8", "surrogatepass")) > MAX_JSON_BYTES:
        raise ValueError(f"must be at most {MAX_JSON_BYTES // 1024} KB as JSON")
    return value


def _json_integer(value: Any) -> Any:
    """JSON has one number type: 3 and 3.0 are the same integer; "3", true and 2.5 are not."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be an integer")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError("must be an integer")
        return int(value)
    return value


Text = Annotated[
    StrictStr, AfterValidator(_storable), Field(json_schema_extra={"pattern": STORABLE_PATTERN})
]
NON_BLANK_PATTERN = rf"^[^\u0000]*[^{_SPACE}\u0000][^\u0000]*$"


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


NonBlankText = Annotated[
    StrictStr,
    AfterValidator(_storable),
    AfterValidator(_not_blank),
    Field(json_schema_extra={"pattern": NON_BLANK_PATTERN}),
]
JSON_OBJECT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "propertyNames": {"pattern": STORABLE_PATTERN},
    "additionalProperties": {"$ref": JSON_VALUE_REF},
    "description": f"a JSON object of at most {MAX_JSON_BYTES // 1024} KB",
}
JsonObject = Annotated[
    dict[str, Any], AfterValidator(_storable_json), WithJsonSchema(JSON_OBJECT_SCHEMA)
]
JsonInt = Annotated[int, BeforeValidator(_json_integer)]
