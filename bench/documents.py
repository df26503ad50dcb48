"""Document extraction and library search: a generated 100-page PDF, and 10,000 documents on PostgreSQL.

Extraction: the PDF is read to Markdown through the sandbox the app uses (a process forked from
the forkserver, pipe, limits) and, as the baseline in the same run, by pypdf in this process
(``page.extract_text()`` over every page, nothing else). Search: 10,000 documents of ~300 words
(a Zipf-distributed vocabulary) are COPYed in, then ``list_documents`` (the API's search: filters,
ranking, count, page of 20, snippets) is timed over ``--queries`` one- and two-word searches
(words of ranks 20 to 2,000: from "in a third of the documents" to "in a handful");
the baseline is the bare ranked ``tsvector`` query (ids only, no count, no snippets) on psycopg.

PostgreSQL is ``DATABASE_URL`` when that names one, else a temporary database on 127.0.0.1:5432.

    .venv/bin/python bench/documents.py            # or: make bench
    .venv/bin/python bench/documents.py --quick    # 20 pages, 2,000 documents
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DWC_DATA_DIR", tempfile.mkdtemp(prefix="dwc-bench-"))
GIVEN_POSTGRES_URL = os.environ.get("DATABASE_URL", "") if os.environ.get("DATABASE_URL", "").startswith(
    ("postgres://", "postgresql")) else ""

from fpdf import FPDF  # noqa: E402
from pypdf import PdfReader  # noqa: E402
from sqlmodel.ext.asyncio.session import AsyncSession  # noqa: E402

from models.user import Role, User  # noqa: E402
from services.db import create_engine_for, sync_url  # noqa: E402
from services.documents.extraction.base import Limits  # noqa: E402
from services.documents.extraction.sandbox import SandboxLimits, extract_in_sandbox  # noqa: E402
from services.documents.formats import FileKind  # noqa: E402
from services.documents.library_query import list_documents  # noqa: E402
from tests.infra import migrate, temporary_postgres_database  # noqa: E402

_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qui", "dor", "fen", "gal", "hus", "jor",
              "bel", "cas", "dun", "mar")
VOCABULARY = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("", "n", "s", "ter", "la", "ck",
                                                                           "ment", "ion", "ber", "ous", "ing", "al",
                                                                           "er")][:5000]
"""5,000 pseudo-words, drawn with Zipf weights: a few are in most documents, most in few (like real text)."""
_WEIGHTS = [1 / (rank + 1) for rank in range(len(VOCABULARY))]


def words(rng: random.Random, count: int) -> list[str]:
    return rng.choices(VOCABULARY, weights=_WEIGHTS, k=count)


def make_pdf(pages: int) -> bytes:
    rng = random.Random(3)
    pdf = FPDF()
    pdf.set_font("Helvetica", size=10)
    for page in range(pages):
        pdf.add_page()
        pdf.multi_cell(0, 5, f"Page {page + 1}\n\n" + "\n\n".join(" ".join(words(rng, 60)) for _ in range(6)))
    return bytes(pdf.output())


def measure_extraction(pages: int, repeat: int) -> tuple[float, float]:
    data = make_pdf(pages)
    limits = SandboxLimits(extraction=Limits(max_pages=10_000, max_unpacked_bytes=1 << 30), timeout_seconds=600)
    sandboxed, baseline = [], []
    for _ in range(repeat):
        started = time.perf_counter()
        extracted = asyncio.run(extract_in_sandbox(FileKind.PDF, data, limits))
        sandboxed.append(time.perf_counter() - started)
        assert extracted.pages == pages
        started = time.perf_counter()
        for page in PdfReader(io.BytesIO(data)).pages:
            page.extract_text()
        baseline.append(time.perf_counter() - started)
    return pages / statistics.median(sandboxed), pages / statistics.median(baseline)


def load_documents(url: str, count: int) -> uuid.UUID:
    import psycopg

    rng = random.Random(11)
    owner = uuid.uuid4()
    now = datetime.now(UTC)
    with psycopg.connect(sync_url(url).render_as_string(hide_password=False).replace("+psycopg", "")) as conn:
        conn.execute("INSERT INTO users (id, email, full_name, password_hash, role, is_active, created_at, updated_at)"
                     " VALUES (%s, 'bench@example.com', 'Bench', 'x', 'admin', true, %s, %s)", (owner, now, now))
        columns = ("id", "owner_id", "title", "source", "mime_type", "content", "metadata", "current_version",
                   "status", "progress", "size_bytes", "words", "tags", "created_at", "updated_at")
        with conn.cursor() as cursor, cursor.copy(f"COPY documents ({', '.join(columns)}) FROM STDIN") as copy:
            for index in range(count):
                text = " ".join(words(rng, 300))
                copy.write_row((uuid.uuid4(), owner, f"Document {index} {' '.join(words(rng, 3))}", "upload",
                                "text/markdown", text, "{}", 1, "ready", 100, len(text), 300, "[]", now, now))
        conn.execute("ANALYZE documents")
    return owner


async def measure_search(url: str, owner_id: uuid.UUID, queries: int) -> tuple[list[float], list[float]]:
    import psycopg

    rng = random.Random(5)
    # Words of every frequency but the very top (which match nearly every document): ranks 20 to 2,000.
    terms = [" ".join(rng.sample(VOCABULARY[20:2000], rng.choice((1, 2)))) for _ in range(queries)]
    engine = create_engine_for(url)
    service_ms, baseline_ms = [], []
    actor = User(id=owner_id, email="bench@example.com", password_hash="x", role=Role.ADMIN)
    raw = sync_url(url).render_as_string(hide_password=False).replace("+psycopg", "")
    try:
        with psycopg.connect(raw) as conn:
            for term in terms:
                async with AsyncSession(engine) as session:
                    started = time.perf_counter()
                    await list_documents(actor, session=session, q=term, limit=20)
                    service_ms.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                conn.execute("SELECT id FROM documents WHERE search_vector @@ websearch_to_tsquery('english', %s) "
                             "ORDER BY ts_rank_cd(search_vector, websearch_to_tsquery('english', %s), 1) DESC "
                             "LIMIT 20", (term, term)).fetchall()
                baseline_ms.append((time.perf_counter() - started) * 1000)
    finally:
        await engine.dispose()
    return service_ms, baseline_ms


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100, help="pages of the generated PDF")
    parser.add_argument("--extract-repeat", type=int, default=3)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="20 pages, 2,000 documents, 60 queries")
    args = parser.parse_args()
    if args.quick:
        args.pages, args.documents, args.queries, args.extract_repeat = 20, 2_000, 60, 1
    sandboxed, baseline = measure_extraction(args.pages, args.extract_repeat)
    print(f"extraction of a {args.pages}-page PDF: {sandboxed:.1f} pages/s through the sandbox, "
          f"{baseline:.1f} pages/s with pypdf in-process (baseline)")
    with contextlib.ExitStack() as stack:
        url = GIVEN_POSTGRES_URL or stack.enter_context(temporary_postgres_database())
        migrate(url)
        started = time.perf_counter()
        owner = load_documents(url, args.documents)
        print(f"loaded {args.documents:,} documents with COPY in {time.perf_counter() - started:.1f} s")
        service_ms, baseline_ms = asyncio.run(measure_search(url, owner, args.queries))
    print(f"search over {args.documents:,} documents, {args.queries} queries: list_documents p50 "
          f"{statistics.median(service_ms):.1f} ms p95 {p95(service_ms):.1f} ms; bare tsvector query (baseline) p50 "
          f"{statistics.median(baseline_ms):.1f} ms p95 {p95(baseline_ms):.1f} ms")
    print(f"documents={args.documents}")
    print(f"doc_extract_baseline_pages_per_s={baseline:.1f}")
    print(f"doc_search_baseline_p95_ms={p95(baseline_ms):.2f}")
    print(f"doc_extract_pages_per_s={sandboxed:.1f}")
    print(f"doc_search_p95_ms={p95(service_ms):.2f}")


if __name__ == "__main__":
    main()
