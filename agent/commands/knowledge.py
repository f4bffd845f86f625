"""``sleuth knowledge``: ingest SOPs and COEs into the knowledge store, and search it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from agent.commands.common import EXIT_USER_ERROR, cli_console, error_console, fail_on_sleuth_error
from knowledge.base import DEFAULT_K
from knowledge.documents import CoeDocument, DocumentType, load_document
from knowledge.ingest import add_report_as_coe, bundled_paths, ingest_paths
from knowledge.persistent import default_data_dir, open_store
from mcp_server.errors import InputFileError, SleuthError
from mcp_server.taxonomy import FaultType

console = cli_console()
knowledge_app = typer.Typer(
    name="knowledge", help="The knowledge base of SOPs (runbooks) and past COEs.", no_args_is_help=True
)

DATA_DIR_OPTION = typer.Option(
    None, "--data-dir", help="Store directory (default: $SLEUTH_DATA_DIR/knowledge, else .data/knowledge)."
)
HOST_OPTION = typer.Option(None, "--chroma-host", help="Use a Chroma server instead of the local directory.")
PORT_OPTION = typer.Option(None, "--chroma-port", help="Chroma server port (default: 8000).")


OPENING = "opening the knowledge base (the first run embeds the bundled SOPs and COEs)"


def register(app: typer.Typer) -> None:
    app.add_typer(knowledge_app)


def checked_data_dir(data_dir: Path | None) -> Path | None:
    """A --data-dir that is a file fails here as one line, not deep inside the vector store."""
    if data_dir is not None and data_dir.exists() and not data_dir.is_dir():
        raise SleuthError(f"--data-dir {data_dir}: is a file; give a directory for the knowledge store")
    return data_dir


def flywheel_dir(data_dir: Path | None) -> Path:
    """Where COEs made from finished investigations are written (so a rebuild ingests them too)."""
    return (data_dir or default_data_dir()) / "coes"


@knowledge_app.command("ingest")
@fail_on_sleuth_error
def ingest(
    paths: list[Path] | None = typer.Argument(
        None, help="Files or directories of SOPs (.md) and COEs (.json/.yaml) (default: the bundled ones)."
    ),
    data_dir: Path | None = DATA_DIR_OPTION,
    chroma_host: str | None = HOST_OPTION,
    chroma_port: int | None = PORT_OPTION,
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Drop the store first (e.g. after changing model)."
    ),
) -> None:
    """Ingest documents (idempotent: changed sections are updated, never duplicated)."""
    missing = [path for path in paths or [] if not path.exists()]
    if missing:
        raise SleuthError(f"{missing[0]}: no such file or directory (give SOP .md or COE .json/.yaml files)")
    data_dir = checked_data_dir(data_dir)
    store = open_store(data_dir, host=chroma_host, port=chroma_port, auto_ingest=False, reset=rebuild)
    sources = list(paths) if paths else bundled_paths() + [p for p in [flywheel_dir(data_dir)] if p.is_dir()]
    report = ingest_paths(store, sources)
    table = Table(title="Knowledge ingest")
    for column in ("document", "added", "updated", "unchanged", "removed"):
        table.add_column(column, justify="left" if column == "document" else "right")
    for result in report.documents:
        table.add_row(
            result.doc_id, str(result.added), str(result.updated), str(result.unchanged), str(result.removed)
        )
    console.print(table)
    totals = report.totals()
    console.print(
        f"{len(report.documents)} documents: {totals['added']} sections added, {totals['updated']} updated, "
        f"{totals['unchanged']} unchanged, {totals['removed']} removed; store holds {store.chunk_count()} sections"
    )
    for problem in report.errors:
        error_console.print(f"[bold red]skipped:[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
    if report.errors:
        raise typer.Exit(EXIT_USER_ERROR)


@knowledge_app.command("add-coe")
@fail_on_sleuth_error
def add_coe(
    files: list[Path] = typer.Argument(..., help="COE files (.json/.yaml), e.g. a report's <id>.coe.json."),
    data_dir: Path | None = DATA_DIR_OPTION,
    chroma_host: str | None = HOST_OPTION,
    chroma_port: int | None = PORT_OPTION,
) -> None:
    """Add finished investigations' COEs: kept under the data directory and searchable at once."""
    documents: list[CoeDocument] = []
    for path in files:
        doc = load_document(path)
        if not isinstance(doc, CoeDocument):
            raise InputFileError(path, None, None, "not a COE (a SOP goes in with `sleuth knowledge ingest`)")
        documents.append(doc)
    with console.status(OPENING):
        store = open_store(checked_data_dir(data_dir), host=chroma_host, port=chroma_port)
    for doc in documents:
        result = add_report_as_coe(store, doc, flywheel_dir(data_dir))
        console.print(
            f"added {doc.id}: {doc.title} ({result.added + result.updated} sections indexed)", markup=False
        )


@knowledge_app.command("search")
@fail_on_sleuth_error
def search(
    query: str = typer.Argument(..., help="Symptoms, an error message or a question."),
    type: DocumentType | None = typer.Option(None, "--type", help="Only SOPs or only COEs."),
    service: str | None = typer.Option(
        None, "--service", help="Only documents for this service (or generic)."
    ),
    fault_type: list[FaultType] | None = typer.Option(
        None, "--fault-type", help="Only documents about one of these fault types (repeatable)."
    ),
    k: int = typer.Option(DEFAULT_K, "-k", "--limit", min=1, max=50, help="How many documents to return."),
    as_json: bool = typer.Option(False, "--json", help="Print the hits as JSON."),
    data_dir: Path | None = DATA_DIR_OPTION,
    chroma_host: str | None = HOST_OPTION,
    chroma_port: int | None = PORT_OPTION,
) -> None:
    """Search SOPs and past COEs (semantic and exact-term matching combined)."""
    with console.status(OPENING):
        store = open_store(checked_data_dir(data_dir), host=chroma_host, port=chroma_port)
    hits = store.search(
        query, type=type, service=service, fault_types=[str(f) for f in fault_type or []] or None, k=k
    )
    if as_json:
        print(json.dumps([hit.model_dump(mode="json") for hit in hits], indent=2))
        return
    if not hits:
        console.print("No matching documents.")
        return
    for rank, hit in enumerate(hits, start=1):
        exact = f"  exact: {', '.join(hit.exact_terms)}" if hit.exact_terms else ""
        console.print(
            f"[bold]{rank}. {escape(hit.doc_id)}[/] ({hit.type.value}) {escape(hit.title)}\n"
            f"   section: {escape(hit.section)}  score {hit.score:.3f}{escape(exact)}",
            highlight=False,
        )
        console.print(f"   {hit.snippet}", highlight=False, markup=False)
