"""bench/pdf: `etl load-pdf` (2 workers, database writes included) vs pdfplumber's
`extract_words()` alone, single process, on the same files; and word agreement.

Prints; asserts nothing. A match is the same text with box IoU >= 0.5.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import pdfplumber

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.common import fresh_database

from etl_toolkit.db.queries import query
from etl_toolkit.pdf.pipeline import load_pdfs

CORPUS = Path(
    os.environ.get("PDF_CORPUS", Path(__file__).resolve().parents[3] / "shared/corpus/pdf")
)
PASSWORD = "test"  # the corpus' encrypted file; unencrypted files ignore it
Box = tuple[str, float, float, float, float]


def iou(a: Box, b: Box) -> float:
    ix = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    iy = max(0.0, min(a[4], b[4]) - max(a[2], b[2]))
    inter = ix * iy
    union = (a[3] - a[1]) * (a[4] - a[2]) + (b[3] - b[1]) * (b[4] - b[2]) - inter
    if union <= 0:
        return 1.0 if a[1:] == b[1:] else 0.0
    return inter / union


def matches(mine: list[Box], ref: list[Box]) -> int:
    by_text: dict[str, list[int]] = defaultdict(list)
    for i, w in enumerate(ref):
        by_text[w[0]].append(i)
    used: set[int] = set()
    hits = 0
    for w in mine:
        for i in by_text.get(w[0], []):
            if i not in used and iou(w, ref[i]) >= 0.5:
                used.add(i)
                hits += 1
                break
    return hits


def pdfplumber_words(files: list[Path]) -> tuple[dict[str, list[list[Box]]], int, float]:
    out: dict[str, list[list[Box]]] = {}
    pages = 0
    t0 = time.perf_counter()
    for f in files:
        try:
            with pdfplumber.open(f, password=PASSWORD) as pdf:
                doc = []
                for page in pdf.pages:
                    doc.append(
                        [
                            (w["text"], w["x0"], w["top"], w["x1"], w["bottom"])
                            for w in page.extract_words()
                        ]
                    )
                    page.close()
                out[f.name] = doc
                pages += len(doc)
        except Exception as exc:  # the corpus has files every library rejects
            print(f"  pdfplumber: {f.name}: {type(exc).__name__}", file=sys.stderr)
    return out, pages, time.perf_counter() - t0


def main() -> None:
    files = sorted(CORPUS.glob("*.pdf"))
    workers = int(os.environ.get("BENCH_WORKERS", "2"))
    print(f"bench/pdf: {len(files)} files from {CORPUS}, {os.cpu_count()} CPUs")
    ref, ref_pages, ref_s = pdfplumber_words(files)
    with fresh_database("etl_bench_pdf") as db:
        t0 = time.perf_counter()
        report = load_pdfs(db, files, workers=workers, password=PASSWORD)
        etl_s = time.perf_counter() - t0
        etl_pages = report.totals["pages"]
        tp = n_mine = n_ref = 0
        with db.connect() as conn:
            for fr in report.files:
                name = Path(fr.path).name
                if fr.status != "loaded" or name not in ref:
                    continue
                for number, ref_words in enumerate(ref[name], start=1):
                    rows = conn.execute(
                        query("docs", "page_words"), {"id": fr.document_id, "page": number}
                    ).fetchall()
                    mine = [(r["text"], r["x0"], r["top"], r["x1"], r["bottom"]) for r in rows]
                    tp += matches(mine, ref_words)
                    n_mine += len(mine)
                    n_ref += len(ref_words)
    precision = tp / n_mine if n_mine else 1.0
    recall = tp / n_ref if n_ref else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    etl_pps = etl_pages / etl_s
    ref_pps = ref_pages / ref_s
    print(f"{'':38s}{'pages':>8s}{'seconds':>10s}{'pages/s':>10s}")
    print(f"{'pdfplumber extract_words (1 process)':38s}{ref_pages:8d}{ref_s:10.2f}{ref_pps:10.1f}")
    label = f"etl load-pdf ({workers} workers, with DB)"
    print(f"{label:38s}{etl_pages:8d}{etl_s:10.2f}{etl_pps:10.1f}")
    print(f"speed ratio (etl / pdfplumber pages/s): {etl_pps / ref_pps:.2f}x   (goal >= 3x)")
    print(
        f"word agreement: precision {precision:.4f}  recall {recall:.4f}  F1 {f1:.4f}"
        f"   ({tp} of {n_ref} reference words; goal F1 >= 0.99)"
    )
    t = report.totals
    print(f"files: {t['loaded']} loaded, {t['failed']} failed (expected: the 0-byte file)")


if __name__ == "__main__":
    main()
