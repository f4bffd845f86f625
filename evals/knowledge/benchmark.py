"""Retrieval benchmark for the knowledge base: Recall@3, MRR, warm latency and cold start.

    .venv/bin/python -m evals.knowledge.benchmark                 # builds .data/bench-knowledge once
    .venv/bin/python -m evals.knowledge.benchmark --json out.json --data-dir /tmp/kb

Recall@3 is, per query, the share of its expected documents found in the top 3 results, averaged over
queries; MRR is the mean of 1/rank of the first expected document (0 when none is in the top 10).
Warm latency is measured over all queries after one warm-up query; cold start runs a new Python process
that opens the already-built store and answers one query, and reports its wall time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from knowledge.base import KnowledgeStore
from knowledge.chunks import chunk_document
from knowledge.documents import Document
from knowledge.ingest import bundled_paths, discover, load_documents
from knowledge.lexical import tokenize
from mcp_server.errors import InputFileError

QUERIES_FILE = Path(__file__).resolve().parent / "queries.yaml"
K = 3
RANK_DEPTH = 10


class LabelledQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    query: str
    expected: list[str] = Field(min_length=1)
    no_shared_words: bool = False


class QueryResult(BaseModel):
    id: str
    query: str
    expected: list[str]
    retrieved: list[str]
    recall_at_k: float
    reciprocal_rank: float
    latency_ms: float


class BenchmarkReport(BaseModel):
    queries: int
    no_shared_word_queries: int
    recall_at_3: float
    recall_at_3_no_shared_words: float
    mrr: float
    latency_p50_ms: float
    latency_p95_ms: float
    cold_start_s: float | None = None
    misses: list[QueryResult] = Field(default_factory=list)


def load_queries(path: Path = QUERIES_FILE) -> list[LabelledQuery]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        return [LabelledQuery.model_validate(q) for q in raw["queries"]]
    except (ValidationError, KeyError, TypeError) as exc:
        raise InputFileError(path, None, "queries", str(exc)) from None


def check_labels(queries: list[LabelledQuery], documents: list[Document]) -> list[str]:
    """Problems with the labels: unknown expected ids, or a no-shared-words query that shares one."""
    vocab = {d.id: {t for c in chunk_document(d) for t in tokenize(c.text)} for d in documents}
    problems = []
    for q in queries:
        unknown = [e for e in q.expected if e not in vocab]
        if unknown:
            problems.append(f"{q.id}: unknown expected document(s) {unknown}")
            continue
        if q.no_shared_words:
            shared = set(tokenize(q.query)) & set().union(*(vocab[e] for e in q.expected))
            if shared:
                problems.append(f"{q.id}: marked no_shared_words but shares {sorted(shared)}")
    return problems


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def evaluate(store: KnowledgeStore, queries: list[LabelledQuery]) -> BenchmarkReport:
    store.search("warm-up query", k=1)
    results: list[QueryResult] = []
    for q in queries:
        start = time.perf_counter()
        hits = store.search(q.query, k=RANK_DEPTH)
        elapsed = (time.perf_counter() - start) * 1000
        retrieved = [h.doc_id for h in hits]
        found = sum(1 for e in q.expected if e in retrieved[:K])
        first = next((i for i, d in enumerate(retrieved, start=1) if d in q.expected), None)
        results.append(
            QueryResult(
                id=q.id,
                query=q.query,
                expected=q.expected,
                retrieved=retrieved[:5],
                recall_at_k=found / len(q.expected),
                reciprocal_rank=1 / first if first else 0.0,
                latency_ms=round(elapsed, 2),
            )
        )
    no_shared = [r for r, q in zip(results, queries, strict=True) if q.no_shared_words]
    latencies = [r.latency_ms for r in results]
    return BenchmarkReport(
        queries=len(results),
        no_shared_word_queries=len(no_shared),
        recall_at_3=round(statistics.mean(r.recall_at_k for r in results), 3),
        recall_at_3_no_shared_words=round(statistics.mean(r.recall_at_k for r in no_shared), 3)
        if no_shared
        else 0,
        mrr=round(statistics.mean(r.reciprocal_rank for r in results), 3),
        latency_p50_ms=round(_percentile(latencies, 50), 2),
        latency_p95_ms=round(_percentile(latencies, 95), 2),
        misses=[r for r in results if r.recall_at_k < 1],
    )


_COLD_START = """
import sys, time
start = time.perf_counter()
from knowledge.persistent import open_store
store = open_store(sys.argv[1])
hits = store.search("ProvisionedThroughputExceededException on the Visits table", k=3)
print(time.perf_counter() - start, hits[0].doc_id)
"""


def measure_cold_start(data_dir: Path) -> float:
    """Wall time of a new process from start to its first answer (interpreter start included)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _COLD_START, str(data_dir)], capture_output=True, text=True, check=False
    )
    total = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"cold start run failed: {done.stderr.strip()[-500:]}")
    return round(total, 3)


def main(argv: list[str] | None = None) -> int:
    from knowledge.persistent import open_store

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=Path(".data/bench-knowledge"))
    parser.add_argument("--queries", type=Path, default=QUERIES_FILE)
    parser.add_argument("--json", type=Path, default=None, help="also write the full report here")
    parser.add_argument("--no-cold-start", action="store_true")
    args = parser.parse_args(argv)

    queries = load_queries(args.queries)
    documents, errors = load_documents(discover(bundled_paths()))
    problems = errors + check_labels(queries, documents)
    if problems:
        print("label problems:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    started = time.perf_counter()
    store = open_store(args.data_dir)
    print(f"store ready in {time.perf_counter() - started:.1f}s: {len(store.document_ids())} documents, "
          f"{store.chunk_count()} chunks")  # fmt: skip
    report = evaluate(store, queries)
    if not args.no_cold_start:
        report.cold_start_s = measure_cold_start(args.data_dir)
    print(
        f"queries            {report.queries} ({report.no_shared_word_queries} share no word with their target)"
    )
    print(
        f"Recall@3           {report.recall_at_3:.3f}  (no shared words: {report.recall_at_3_no_shared_words:.3f})"
    )
    print(f"MRR                {report.mrr:.3f}")
    print(f"latency warm       p50 {report.latency_p50_ms:.1f} ms, p95 {report.latency_p95_ms:.1f} ms")
    if report.cold_start_s is not None:
        print(
            f"cold start         {report.cold_start_s:.2f} s (new process: import, open store, first query)"
        )
    for miss in report.misses:
        print(f"  miss {miss.id}: {miss.query!r} expected {miss.expected}, got {miss.retrieved[:3]}")
    if args.json:
        args.json.write_text(report.model_dump_json(indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
