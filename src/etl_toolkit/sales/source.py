"""Finding and reading the sales CSVs (docs/formats/sales.md).

Files are `<entity>.csv` (the initial set) or `<entity>_<suffix>.csv` (a
delivery), anywhere under the data dir. They are processed delivery by
delivery (the initial set first, then suffixes in sorted order) and, within a
delivery, in foreign-key order.

Reading streams a file in batches of raw strings through Polars. Columns are
matched by header name (any order; names trimmed and lower-cased; a BOM is
ignored). Each row carries `_line`, the physical line it starts on (fields with
embedded newlines are accounted for), `_extra`, the first field beyond the
header, if any (a row with too many fields), and `_short`, the reason of a row
with fewer fields than the header ("row has N fields, the header has M").
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from etl_toolkit.errors import InputError
from etl_toolkit.sales.encoding import invalid_utf8, not_utf8, utf16_header

ENTITIES = ("product_categories", "products", "customers", "orders", "order_items")
COLUMNS: dict[str, tuple[str, ...]] = {
    "product_categories": ("category_id", "name", "description", "parent_id", "created_at"),
    "products": (
        "product_id",
        "name",
        "description",
        "price",
        "cost",
        "category_id",
        "sku",
        "inventory_count",
        "weight",
        "created_at",
        "is_active",
    ),
    "customers": (
        "customer_id",
        "email",
        "first_name",
        "last_name",
        "street_address",
        "city",
        "state",
        "zip_code",
        "country",
        "phone",
        "registration_date",
        "last_login",
    ),
    "orders": (
        "order_id",
        "customer_id",
        "order_date",
        "status",
        "payment_method",
        "shipping_address",
        "shipping_city",
        "shipping_state",
        "shipping_zip",
        "shipping_country",
        "processing_date",
        "shipping_date",
        "delivery_date",
        "total_amount",
    ),
    "order_items": (
        "order_item_id",
        "order_id",
        "product_id",
        "quantity",
        "price",
        "discount",
        "total",
    ),
}
# Target columns written from a file (order_items.total is generated; the
# file's total is kept as reported_total when it disagrees).
TARGET: dict[str, tuple[str, ...]] = {
    **{e: COLUMNS[e] for e in ENTITIES if e != "order_items"},
    "order_items": (*(c for c in COLUMNS["order_items"] if c != "total"), "reported_total"),
}
KEYS = {
    "product_categories": "category_id",
    "products": "product_id",
    "customers": "customer_id",
    "orders": "order_id",
    "order_items": "order_item_id",
}
# Columns a file's header must have (the others may be absent: they are nullable).
REQUIRED = {
    "product_categories": {"category_id", "name"},
    "products": {"product_id", "name", "price", "category_id", "sku", "is_active"},
    "customers": {"customer_id", "email"},
    "orders": {"order_id", "customer_id", "order_date", "status", "total_amount"},
    "order_items": {"order_item_id", "order_id", "product_id", "quantity", "price", "total"},
}
OPTIONAL = {e: set(cols) - REQUIRED[e] for e, cols in COLUMNS.items()}
_NAME = re.compile(
    r"^(?P<entity>product_categories|products|customers|orders|order_items)"
    r"(?:_(?P<suffix>.+))?\.csv$",
    re.IGNORECASE,
)
BATCH_ROWS = 250_000
EXTRA = "_extra"
SHORT = "_short"


@dataclass(frozen=True)
class SourceFile:
    entity: str
    path: Path
    rel: str  # path relative to the data dir, as reported
    delivery: str  # "" for the initial set, else the file's suffix

    @property
    def order(self) -> tuple[str, str, int]:
        return (self.delivery, str(Path(self.rel).parent), ENTITIES.index(self.entity))


@dataclass(frozen=True)
class Discovered:
    files: list[SourceFile]
    ignored: list[str]  # CSV files whose names match no entity


def discover(data_dir: Path) -> Discovered:
    """Every entity file under `data_dir`, in load order. A folder without any
    is an error, not an empty success (issue 13: a wrong --data-dir must not
    look like "nothing new")."""
    if not data_dir.is_dir():
        raise InputError(
            f"data dir {data_dir.resolve() if not data_dir.is_absolute() else data_dir} "
            "does not exist or is not a folder",
            hint="pass --data-dir (a relative path starts at the current folder), or "
            "generate one: etl sales generate --out DIR",
        )
    files, ignored = [], []
    for path in sorted(data_dir.rglob("*")):
        if not path.is_file() or path.suffix.lower() != ".csv":
            continue
        rel = str(path.relative_to(data_dir))
        m = _NAME.match(path.name)
        if m is None:
            ignored.append(rel)
            continue
        entity = m["entity"].lower()
        files.append(SourceFile(entity, path, rel, m["suffix"] or ""))
    if not files:
        raise InputError(f"{data_dir}: no sales file to load ({_found(data_dir)})", hint=EXPECTED)
    files.sort(key=lambda f: f.order)
    return Discovered(files, ignored)


EXPECTED = (
    f"expected {', '.join(f'{e}.csv' for e in ENTITIES)} or deliveries named"
    " <entity>_<suffix>.csv, anywhere under the folder"
)


def _found(data_dir: Path, shown: int = 10) -> str:
    """What the folder holds instead, for an error message."""
    present = sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file())
    if not present:
        return "the folder is empty"
    more = f" and {len(present) - shown} more" if len(present) > shown else ""
    return f"found {len(present)} file(s): {', '.join(present[:shown])}{more}"


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fp:
        while chunk := fp.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Header:
    names: list[str]  # as read from the file, normalised
    unknown: list[str]  # names the entity does not have (read, then ignored)


def read_header(f: SourceFile) -> Header:
    """The header row, checked: every required column present, none twice."""
    with f.path.open("rb") as fp:
        first = fp.readline(1 << 20)
    if not first.strip():
        raise InputError(f"{f.rel}: empty file (no header row)")
    utf16_header(f.rel, f.path, first)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise not_utf8(f.rel, f.path, *(invalid_utf8(f.path) or (1, b""))) from None
    row = next(csv.reader(io.StringIO(text)), [])
    names = [n.strip().lower() for n in row]
    expected = COLUMNS[f.entity]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{f.rel}: column(s) named twice in the header: {', '.join(dupes)}")
    missing = [c for c in expected if c not in names and c not in OPTIONAL[f.entity]]
    if missing:
        # What the header has instead names the likely fix (`e_mail` for email).
        unknown = [n for n in names if n not in expected]
        found = f"; found instead: {', '.join(unknown)}" if unknown else ""
        raise InputError(
            f"{f.rel}: header lacks required column(s) {', '.join(missing)}{found}",
            hint=f"rename the header's columns; {f.entity} columns: {', '.join(expected)}",
        )
    return Header(names, [n for n in names if n not in expected])


def _scan(f: SourceFile, header: Header) -> tuple[pl.LazyFrame, list[str]]:
    names = [n if n else f"_unnamed{i}" for i, n in enumerate(header.names)]
    schema = dict.fromkeys([*names, EXTRA], pl.String)
    lf = pl.scan_csv(
        f.path,
        has_header=False,
        skip_rows=1,
        schema=schema,
        missing_columns="insert",
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
    )
    return lf, names


class _LineCommas:
    """Commas per physical line of a file, read forward on demand. The CSV reader
    pads a row with too few fields with nulls, as if its last fields were empty;
    a row's field count is its lines' commas minus the commas inside its values,
    plus one (issue 13)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._batches: Iterator[pl.DataFrame] | None = None
        self._held = pl.Series("line", [], dtype=pl.UInt32)
        self._next = 0  # the line number of _held's first value

    def _start(self, first: int) -> Iterator[pl.DataFrame]:
        # Each physical line as one value: no quoting, and a separator (NUL) that
        # text does not hold. utf8-lossy, as the CSV read: a bad byte is not a comma.
        # Started at the first line asked for: a file without a candidate short row
        # (the usual case) is not read twice.
        self._next = first
        return (
            pl.scan_csv(
                self.path,
                has_header=False,
                skip_rows=first - 1,
                separator="\x00",
                quote_char=None,
                schema={"line": pl.String},
                truncate_ragged_lines=True,
                encoding="utf8-lossy",
            )
            .select(pl.col("line").str.count_matches(",", literal=True).fill_null(0))
            .collect_batches(chunk_size=BATCH_ROWS)
        )

    def take(self, first: int, n: int) -> pl.Series:
        """The comma counts of lines first .. first + n - 1 (1-based, never before
        a line already taken; null past the end of the file)."""
        if self._batches is None:
            self._batches = self._start(first)
        parts, held = [self._held], self._held.len()
        while held < first - self._next + n:
            batch = next(self._batches, None)
            if batch is None:
                break
            parts.append(batch.to_series().cast(pl.UInt32))
            held += batch.height
        both = pl.concat(parts).slice(first - self._next)
        self._held, self._next = both.slice(n), first + n
        out = both.slice(0, n)
        return out.extend_constant(None, n - out.len()) if out.len() < n else out


def _short(batch: pl.DataFrame, names: list[str], commas: _LineCommas, first: int) -> pl.Series:
    """Per row of the batch (whose first line is `first`), the reason when it has
    fewer fields than the header, else null."""
    out = pl.Series(SHORT, [None] * batch.height, dtype=pl.String)
    # Only a row whose last field is null can be short (the reader pads with nulls).
    maybe = batch[names[-1]].is_null().arg_true()
    if maybe.len() == 0:
        return out
    rows = batch[maybe]
    lo = int(rows["_line"][0])
    counts = commas.take(lo, int((rows["_line"] + rows["_nl"]).max()) - lo + 1)  # type: ignore[arg-type]
    # Prefix sums of the lines' commas: a row's are those of lines _line .. _line + _nl.
    prefix = pl.concat([pl.Series([0], dtype=pl.Int64), counts.cast(pl.Int64).cum_sum()])
    start = rows["_line"] - lo
    inner = rows.select(
        pl.sum_horizontal(
            pl.col(c).str.count_matches(",", literal=True).fill_null(0) for c in names
        ).cast(pl.Int64)
    ).to_series()
    fields = prefix.gather(start + rows["_nl"] + 1) - prefix.gather(start) - inner + 1
    short = fields < len(names)
    if not short.any():
        return out
    reasons = pl.select(
        pl.format("row has {} fields, the header has {}", pl.lit(fields.filter(short)), len(names))
    ).to_series()
    return out.scatter(maybe.filter(short), reasons)


def read_batches(
    f: SourceFile, header: Header, batch_rows: int = BATCH_ROWS
) -> Iterator[pl.DataFrame]:
    """The file's rows in batches: every expected column as a string (null when
    empty or absent from the header), plus `_row` (0-based), `_line`, `_extra`
    and `_short`."""
    lf, names = _scan(f, header)
    expected = COLUMNS[f.entity]
    commas = _LineCommas(f.path)
    next_line, next_row = 2, 0
    try:
        for batch in lf.collect_batches(chunk_size=batch_rows):
            if batch.height == 0:
                continue
            # A field with embedded newlines makes its row span several lines.
            nl = pl.sum_horizontal(
                pl.col(c).str.count_matches("\n", literal=True).fill_null(0) for c in names
            ).cast(pl.Int64)
            batch = batch.with_columns(_nl=nl, _row=pl.int_range(pl.len(), dtype=pl.Int64))
            batch = batch.with_columns(
                _line=next_line + pl.col("_row") + pl.col("_nl").cum_sum() - pl.col("_nl"),
                _row=pl.col("_row") + next_row,
            )
            batch = batch.with_columns(_short(batch, names, commas, next_line).alias(SHORT))
            next_line += batch.height + int(batch["_nl"].sum())
            next_row += batch.height
            yield batch.select(
                *[
                    pl.col(c) if c in names else pl.lit(None, dtype=pl.String).alias(c)
                    for c in expected
                ],
                "_row",
                "_line",
                EXTRA,
                SHORT,
            )
    except pl.exceptions.PolarsError as exc:
        raise unreadable(f, exc) from None


def duplicate_rows(f: SourceFile, header: Header, keys: dict[str, pl.Expr]) -> dict[str, pl.Series]:
    """Per named key expression, the row indices (0-based, in file order) whose
    value repeats an earlier row's: within one file the first occurrence wins."""
    lf, names = _scan(f, header)
    usable = {k: e for k, e in keys.items() if all(c in names for c in e.meta.root_names())}
    if not usable:
        return {}
    try:
        frame = lf.select(**usable).with_row_index("_row").collect(engine="streaming")
    except pl.exceptions.PolarsError as exc:
        raise unreadable(f, exc) from None
    return {
        k: frame.filter(pl.col(k).is_not_null() & ~pl.col(k).is_first_distinct())["_row"].cast(
            pl.Int64
        )
        for k in usable
    }


def unreadable(f: SourceFile, exc: Exception) -> InputError:
    """The error for a file Polars cannot parse. Its message does not say where,
    and can quote megabytes of the file: an unterminated quote (issue 13) is
    named by its line, anything else by the parser's first line, cut short."""
    line = open_quote_line(f.path)
    if line is not None:
        return InputError(
            f"{f.rel}: line {line}: a quoted field opens here and is never closed;"
            " nothing of this file was loaded",
            hint='close the quote (a quote inside a quoted field is written twice: ""),'
            " then run again",
        )
    first = str(exc).strip().split("\n", 1)[0]
    return InputError(f"{f.rel}: cannot be read as CSV ({first[:200]})")


def open_quote_line(path: Path) -> int | None:
    """The physical line (1-based) where a quoted field opens and is still open at
    the end of the file, or None. Vectorised over the lines: a line with an odd
    number of quotes flips in/out of a quoted field (`""` inside one is even); a
    quote between two other characters that are neither separator nor quote
    (`27" wide` in a bare field) is text and is not counted."""
    quotes = pl.col("line").str.count_matches('"', literal=True) - pl.col("line").str.count_matches(
        r'[^,"]"[^,"]'
    )
    lines = pl.scan_csv(
        path,
        has_header=False,
        separator="\x00",
        quote_char=None,
        schema={"line": pl.String},
        truncate_ragged_lines=True,
        encoding="utf8-lossy",
    ).select(odd=(quotes.fill_null(0) % 2).cast(pl.Int64))
    inside, opened, first = 0, None, 1
    try:
        for batch in lines.collect_batches(chunk_size=BATCH_ROWS):
            odd = batch["odd"]
            after = (odd.cum_sum() + inside) % 2  # inside a quoted field after each line
            opens = ((odd == 1) & (after == 1)).arg_true()
            if opens.len():
                opened = first + int(opens[-1])
            if batch.height:
                inside = int(after[-1])
            first += batch.height
    except pl.exceptions.PolarsError:
        return None
    return opened if inside else None
