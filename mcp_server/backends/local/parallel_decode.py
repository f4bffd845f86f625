"""Decode (and redact) large OTLP/JSON files on every core.

A file is cut at line boundaries into one chunk per worker; each worker process decodes its chunk
into an Arrow table (cheap to send back), redacts it, and errors keep their true line numbers.
Small files are decoded in-process, where starting workers would cost more than it saves. Either
way a buffer leaves here as redacted Arrow tables: no secret reaches the store.
"""

from __future__ import annotations

import itertools
import mmap
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pyarrow as pa

from mcp_server.backends.local.otlp import (
    LOG_COLUMNS,
    METRIC_COLUMNS,
    SPAN_COLUMNS,
    ColumnBuffer,
    DecodeStats,
    decode_logs_file,
    decode_metrics_file,
    decode_traces_file,
)
from mcp_server.backends.local.redact_columns import redact_table
from mcp_server.backends.local.schema import LOG_ARROW, METRIC_ARROW, SPAN_ARROW
from mcp_server.redaction import Redactor

PARALLEL_THRESHOLD_BYTES = 64 * 1024 * 1024

Decoder = Callable[..., None]
_KINDS: dict[str, tuple[Decoder, tuple[str, ...], pa.Schema]] = {
    "traces": (decode_traces_file, SPAN_COLUMNS, SPAN_ARROW),
    "logs": (decode_logs_file, LOG_COLUMNS, LOG_ARROW),
    "metrics": (decode_metrics_file, METRIC_COLUMNS, METRIC_ARROW),
}


def _decode_chunk(
    kind: str, path: Path, byte_range: tuple[int, int], first_line: int, redactor: Redactor
) -> tuple[pa.Table, DecodeStats]:
    decode, columns, schema = _KINDS[kind]
    buffer = ColumnBuffer(columns)
    decode(path, buffer, byte_range, first_line)
    return redact_table(buffer.to_arrow(schema), kind, redactor), buffer.stats


def _decode_here(kind: str, path: Path, out: ColumnBuffer, redactor: Redactor) -> None:
    decode, _, schema = _KINDS[kind]
    decode(path, out)
    out.tables = [redact_table(out.to_arrow(schema), kind, redactor)]
    out.rows = []


def _chunks(path: Path, parts: int) -> list[tuple[tuple[int, int], int]]:
    """Byte ranges ending at newlines, each with the number of its first line."""
    size = path.stat().st_size
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        bounds = [0]
        for i in range(1, parts):
            newline = data.find(b"\n", max(bounds[-1], size * i // parts))
            if newline == -1:
                break
            bounds.append(newline + 1)
        bounds.append(size)
        chunks = []
        line = 1
        for start, end in itertools.pairwise(bounds):
            if end > start:
                chunks.append(((start, end), line))
            line += data[start:end].count(b"\n")
    return chunks


def worker_count() -> int:
    configured = os.environ.get("SLEUTH_IMPORT_WORKERS")
    return max(1, int(configured)) if configured else max(1, min(4, os.cpu_count() or 1))


def decode_files(
    files: list[tuple[str, Path, ColumnBuffer]], workers: int | None = None, redactor: Redactor | None = None
) -> None:
    """Decode and redact a scenario's OTLP/JSON files, sharing one worker pool when any file is large.

    Starting worker processes costs about a second, so small scenarios decode in-process; when a
    file passes the threshold, every file is cut into chunks for one pool of ``workers``.
    """
    workers = worker_count() if workers is None else workers
    redactor = redactor or Redactor()
    if workers <= 1 or all(path.stat().st_size < PARALLEL_THRESHOLD_BYTES for _, path, _ in files):
        for kind, path, out in files:
            _decode_here(kind, path, out, redactor)
        return
    context = multiprocessing.get_context("spawn")  # never fork a process holding DuckDB threads
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                [
                    pool.submit(_decode_chunk, kind, path, byte_range, line, redactor)
                    for byte_range, line in _chunks(path, workers)
                ]
                for kind, path, _ in files
            ]
            # In file order, so the first error reported is the first in the file.
            decoded = [[future.result() for future in per_file] for per_file in futures]
    except BrokenProcessPool:
        # Workers could not start (e.g. an interactive __main__ that spawn cannot re-import).
        for kind, path, out in files:
            _decode_here(kind, path, out, redactor)
        return
    for (_, _, out), per_file in zip(files, decoded, strict=True):
        for table, stats in per_file:
            out.tables.append(table)
            out.stats.merge(stats)
