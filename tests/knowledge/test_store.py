import pytest

from knowledge.documents import parse_coe, parse_sop_markdown
from knowledge.embeddings import HashingEmbedder
from knowledge.store import InMemoryKnowledgeStore
from mcp_server.errors import QueryError
from tests.knowledge.conftest import coe_data, sop_text


def _sop(**kwargs):
    return parse_sop_markdown(sop_text(**kwargs))


def test_upserting_the_same_document_twice_changes_nothing_the_second_time(memory_store):
    first = memory_store.upsert_document(_sop())
    second = memory_store.upsert_document(_sop())
    assert first.added == 3 and first.updated == 0
    assert (second.added, second.updated, second.unchanged, second.removed) == (0, 0, 3, 0)
    assert memory_store.chunk_count() == 3


def test_an_edited_section_is_updated_and_a_deleted_section_removed(memory_store):
    memory_store.upsert_document(_sop())
    edited = _sop(body="## Step 1: Can you roll back?\nkubectl rollout undo deployment/visits\n")
    result = memory_store.upsert_document(edited)
    assert (result.added, result.updated, result.unchanged, result.removed) == (0, 1, 1, 1)
    assert memory_store.chunk_count() == 2
    hits = memory_store.search("Drain the host", k=5)
    assert all(h.section != "Step 2: Shift away" for h in hits)


def test_search_returns_one_hit_per_document_with_its_best_section(memory_store):
    memory_store.upsert_document(_sop())
    memory_store.upsert_document(
        _sop(doc_id="sop-other", title="Other", body="## Cert\nexpired certificate\n")
    )
    hits = memory_store.search("rollout undo", k=5)
    assert [h.doc_id for h in hits].count("sop-test") == 1
    assert hits[0].doc_id == "sop-test"
    assert hits[0].section == "Step 1: Can you roll back?"
    assert "rollout undo" in hits[0].snippet


def test_an_exact_error_name_puts_the_document_that_contains_it_first(memory_store):
    for i in range(5):
        memory_store.upsert_document(
            _sop(doc_id=f"sop-noise-{i}", body=f"## Reads\nthrottled reads errors {i}\n")
        )
    memory_store.upsert_document(
        _sop(doc_id="sop-exact", body="## Signal\nLogs show ProvisionedThroughputExceededException.\n")
    )
    hits = memory_store.search("reads throttled ProvisionedThroughputExceededException", k=3)
    assert hits[0].doc_id == "sop-exact"
    assert hits[0].exact_terms == ["ProvisionedThroughputExceededException"]


def test_filters_by_type_service_and_fault_type(memory_store):
    memory_store.upsert_document(_sop(doc_id="sop-visits", services="[visits]"))
    memory_store.upsert_document(_sop(doc_id="sop-generic", services="[]", fault_types="[cache_failure]"))
    memory_store.upsert_document(parse_coe(coe_data(services=["billing"])))
    assert {h.doc_id for h in memory_store.search("roll back", type="coe")} == {"coe-test"}
    assert {h.doc_id for h in memory_store.search("roll back", service="visits")} == {
        "sop-visits",
        "sop-generic",
    }
    assert {h.doc_id for h in memory_store.search("roll back", fault_types=["cache_failure"])} == {
        "sop-generic"
    }


def test_an_unknown_type_or_empty_query_is_a_query_error(memory_store):
    memory_store.upsert_document(_sop())
    with pytest.raises(QueryError, match="unknown document type"):
        memory_store.search("x", type="runbook")
    with pytest.raises(QueryError, match="empty search query"):
        memory_store.search("   ")


def test_deleted_documents_disappear_from_search_and_listing(memory_store):
    memory_store.upsert_document(_sop())
    assert memory_store.delete_document("sop-test") == 3
    assert memory_store.document_ids() == []
    assert memory_store.search("rollout") == []


def test_the_full_document_can_be_read_back(memory_store):
    coe = parse_coe(coe_data())
    memory_store.upsert_document(coe)
    assert memory_store.get_document("coe-test") == coe
    assert memory_store.get_document("missing") is None


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(64)
        self.calls = 0

    def embed(self, texts):
        self.calls += 1
        return super().embed(texts)


def test_a_query_asked_again_with_another_filter_is_embedded_once():
    embedder = CountingEmbedder()
    store = InMemoryKnowledgeStore(embedder)
    store.upsert_document(_sop())
    before = embedder.calls
    store.search("rollout undo", type="sop")
    store.search("rollout undo", type="coe")
    assert embedder.calls == before + 1


def test_changing_a_documents_services_updates_the_filters_of_every_section(memory_store):
    memory_store.upsert_document(_sop(services="[visits]"))
    result = memory_store.upsert_document(_sop(services="[billing]"))
    assert result.updated == 3
    assert {h.doc_id for h in memory_store.search("rollout undo", service="visits")} == set()
    assert {h.doc_id for h in memory_store.search("rollout undo", service="billing")} == {"sop-test"}
