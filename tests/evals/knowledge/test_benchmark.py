from evals.knowledge.benchmark import LabelledQuery, check_labels, evaluate, load_queries
from knowledge.documents import parse_sop_markdown
from knowledge.embeddings import HashingEmbedder
from knowledge.ingest import bundled_paths, discover, load_documents
from knowledge.store import InMemoryKnowledgeStore
from tests.knowledge.conftest import sop_text


def test_the_query_set_is_large_enough_and_a_third_shares_no_word_with_its_target():
    queries = load_queries()
    documents, errors = load_documents(discover(bundled_paths()))
    assert errors == []
    assert len(queries) >= 40
    assert sum(q.no_shared_words for q in queries) * 3 >= len(queries)
    assert check_labels(queries, documents) == []


def test_a_query_marked_no_shared_words_that_shares_one_is_reported():
    doc = parse_sop_markdown(sop_text())
    query = LabelledQuery(id="x", query="kubectl rollout", expected=["sop-test"], no_shared_words=True)
    problems = check_labels([query], [doc])
    assert problems and "shares" in problems[0]


def test_recall_and_reciprocal_rank_are_computed_per_query():
    store = InMemoryKnowledgeStore(HashingEmbedder())
    store.upsert_document(parse_sop_markdown(sop_text(doc_id="sop-a", body="## Cert\nexpired certificate\n")))
    store.upsert_document(parse_sop_markdown(sop_text(doc_id="sop-b", body="## Pool\nHikariPool timeout\n")))
    queries = [
        LabelledQuery(id="1", query="HikariPool timeout", expected=["sop-b"]),
        LabelledQuery(id="2", query="expired certificate", expected=["sop-a", "sop-missing"]),
    ]
    report = evaluate(store, queries)
    assert report.recall_at_3 == 0.75
    assert report.mrr == 1.0
    assert [m.id for m in report.misses] == ["2"]
