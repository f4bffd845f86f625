import pytest

from knowledge.chroma_store import ChromaKnowledgeStore
from knowledge.documents import parse_coe, parse_sop_markdown
from knowledge.embeddings import HashingEmbedder
from knowledge.errors import EmbedderMismatchError
from tests.knowledge.conftest import coe_data, sop_text


def _open(path, dimension=64, reset=False):
    return ChromaKnowledgeStore.persistent(path, HashingEmbedder(dimension), reset=reset)


def test_documents_persist_across_reopening_the_directory(tmp_path):
    store = _open(tmp_path)
    store.upsert_document(parse_sop_markdown(sop_text()))
    store.upsert_document(parse_coe(coe_data()))
    again = _open(tmp_path)
    assert again.document_ids() == ["coe-test", "sop-test"]
    assert again.chunk_count() == store.chunk_count()
    assert again.get_document("coe-test") == parse_coe(coe_data())
    assert again.search("rollout undo", k=1)[0].doc_id == "sop-test"


def test_reingesting_after_reopen_updates_in_place_without_duplicates(tmp_path):
    _open(tmp_path).upsert_document(parse_sop_markdown(sop_text()))
    store = _open(tmp_path)
    result = store.upsert_document(parse_sop_markdown(sop_text(body="## Step 1: Can you roll back?\nundo\n")))
    assert (result.updated, result.removed) == (1, 1)
    reopened = _open(tmp_path)
    assert reopened.chunk_count() == 2
    assert reopened._chunks_col.count() == 2


def test_dense_search_applies_filters_inside_chromadb(tmp_path):
    store = _open(tmp_path)
    store.upsert_document(parse_sop_markdown(sop_text(doc_id="sop-visits", services="[visits]")))
    store.upsert_document(parse_sop_markdown(sop_text(doc_id="sop-any", services="[]")))
    store.upsert_document(parse_coe(coe_data(services=["billing"], fault_types=["cache_failure"])))
    assert {h.doc_id for h in store.search("roll back", service="billing")} == {"sop-any", "coe-test"}
    assert {h.doc_id for h in store.search("roll back", type="sop", service="visits")} == {
        "sop-visits",
        "sop-any",
    }
    assert {h.doc_id for h in store.search("visits", fault_types=["cache_failure"])} == {"coe-test"}


def test_opening_a_store_built_with_another_embedder_is_refused_until_rebuilt(tmp_path):
    _open(tmp_path, dimension=64).upsert_document(parse_sop_markdown(sop_text()))
    with pytest.raises(EmbedderMismatchError, match="--rebuild"):
        _open(tmp_path, dimension=32)
    rebuilt = _open(tmp_path, dimension=32, reset=True)
    assert rebuilt.chunk_count() == 0
