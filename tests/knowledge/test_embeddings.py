"""Embeddings: the real all-MiniLM-L6-v2 model offline (ONNX), and the hashing stand-in."""

import numpy as np
import pytest

from knowledge.embeddings import DIMENSION, Embedder, HashingEmbedder, OnnxMiniLmEmbedder, default_embedder
from knowledge.ingest import BUNDLED_SOPS, ingest_paths
from knowledge.store import InMemoryKnowledgeStore


@pytest.fixture(scope="module")
def model() -> OnnxMiniLmEmbedder:
    embedder = OnnxMiniLmEmbedder()
    embedder.embed(["load the model once for this module"])
    return embedder


def test_the_real_model_gives_normalised_384_dimension_vectors_offline(model, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    vectors = model.embed(["DynamoDB throttling on the Visits table", "certificate expired"])
    assert vectors.shape == (2, DIMENSION)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)


def test_the_real_model_puts_paraphrases_closer_than_unrelated_text(model):
    anchor, paraphrase, unrelated = model.embed(
        ["the database refuses requests because we exceeded its capacity",
         "DynamoDB throttling: provisioned throughput exceeded",
         "the TLS certificate of the payment provider expired"]
    )  # fmt: skip
    assert float(anchor @ paraphrase) > float(anchor @ unrelated) + 0.1


def test_batch_order_is_preserved_when_texts_of_different_lengths_are_embedded_together(model):
    texts = ["short", "a much longer sentence about memory leaks and OOM kills " * 3, "mid length text"]
    together = model.embed(texts)
    alone = np.stack([model.embed([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-4)


def test_a_paraphrase_with_no_shared_word_finds_the_right_sop_with_the_real_model(model):
    store = InMemoryKnowledgeStore(model)
    files = [
        BUNDLED_SOPS / name for name in ("memory-leak-oom.md", "certificate-expiry.md", "queue-backlog.md")
    ]
    ingest_paths(store, files)
    assert (
        store.search("RAM creeps upward, then the process vanishes", k=1)[0].doc_id == "sop-memory-leak-oom"
    )


def test_the_hashing_embedder_is_deterministic_and_normalised():
    embedder = HashingEmbedder(128)
    first = embedder.embed(["cache failure on vets"])
    assert np.array_equal(first, HashingEmbedder(128).embed(["cache failure on vets"]))
    assert np.isclose(np.linalg.norm(first[0]), 1.0)
    assert isinstance(embedder, Embedder)


def test_the_default_embedder_is_one_instance_per_process():
    assert default_embedder() is default_embedder()
