import json

from knowledge.documents import parse_coe
from knowledge.ingest import add_report_as_coe, bundled_paths, discover, ingest_paths, sync_bundled_documents
from tests.knowledge.conftest import coe_data, sop_text


def test_a_bad_document_is_reported_by_name_and_skipped_while_the_rest_ingests(memory_store, write, tmp_path):
    write("docs/good.md", sop_text())
    bad = write("docs/bad.json", json.dumps({"id": "coe-bad", "title": "No summary"}))
    write("docs/coe.json", json.dumps(coe_data()))
    report = ingest_paths(memory_store, [tmp_path / "docs"])
    assert sorted(d.doc_id for d in report.documents) == ["coe-test", "sop-test"]
    assert len(report.errors) == 1
    assert str(bad) in report.errors[0]
    assert memory_store.document_ids() == ["coe-test", "sop-test"]


def test_ingesting_twice_adds_nothing_new(memory_store, write, tmp_path):
    write("docs/good.md", sop_text())
    ingest_paths(memory_store, [tmp_path / "docs"])
    again = ingest_paths(memory_store, [tmp_path / "docs"])
    assert again.totals() == {"added": 0, "updated": 0, "unchanged": 3, "removed": 0}


def test_a_second_file_with_the_same_id_is_skipped_with_both_files_named(memory_store, write, tmp_path):
    first = write("docs/a.md", sop_text())
    second = write("docs/b.md", sop_text())
    report = ingest_paths(memory_store, [tmp_path / "docs"])
    assert len(report.documents) == 1
    assert str(second) in report.errors[0] and str(first) in report.errors[0]


def test_readme_files_and_hidden_folders_are_not_ingested(write, tmp_path):
    write("docs/README.md", "# About these docs\n")
    write("docs/.drafts/x.md", sop_text())
    write("docs/real.md", sop_text())
    assert [p.name for p in discover([tmp_path / "docs"])] == ["real.md"]


def test_a_missing_path_is_an_input_error(memory_store, tmp_path):
    import pytest

    from mcp_server.errors import InputFileError

    with pytest.raises(InputFileError, match="no such file"):
        ingest_paths(memory_store, [tmp_path / "nope"])


def test_bundled_documents_sync_only_when_empty_or_changed_and_removed_ones_are_deleted(
    memory_store, write, tmp_path
):
    write("bundle/a.md", sop_text(doc_id="sop-a"))
    b = write("bundle/b.md", sop_text(doc_id="sop-b"))
    state = tmp_path / "state"
    first = sync_bundled_documents(memory_store, state, [tmp_path / "bundle"])
    assert first is not None and len(first.documents) == 2
    assert sync_bundled_documents(memory_store, state, [tmp_path / "bundle"]) is None
    b.unlink()
    changed = sync_bundled_documents(memory_store, state, [tmp_path / "bundle"])
    assert changed is not None and changed.removed_documents == ["sop-b"]
    assert memory_store.document_ids() == ["sop-a"]


def test_a_finished_investigation_becomes_a_searchable_coe_and_a_file(memory_store, tmp_path):
    coe = parse_coe(coe_data(doc_id="coe-2026-100", origin="investigation"))
    add_report_as_coe(memory_store, coe, tmp_path / "coes")
    assert (tmp_path / "coes" / "coe-2026-100.json").is_file()
    hits = memory_store.search("Visits table throttled reads", type="coe")
    assert hits[0].doc_id == "coe-2026-100"


def test_all_bundled_documents_load_without_errors(memory_store):
    from knowledge.ingest import load_documents

    documents, errors = load_documents(discover(bundled_paths()))
    assert errors == []
    assert len(documents) >= 27
