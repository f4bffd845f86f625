from knowledge.lexical import Bm25Index, stem, tokenize


def test_camel_case_identifiers_keep_the_whole_name_and_add_their_parts():
    tokens = tokenize("ProvisionedThroughputExceededException")
    assert tokens[0] == "provisionedthroughputexceededexception"
    assert {"provision", "throughput", "exceed", "exception"} <= set(tokens)


def test_word_forms_fold_to_one_token():
    assert stem("throttled") == stem("throttling") == stem("throttles")


def test_stop_words_are_dropped():
    assert tokenize("why is the pool down") == ["pool", "down"]


def test_bm25_ranks_the_text_holding_the_rare_exact_name_first():
    index = Bm25Index()
    index.add("a", "DynamoDB table throttled with ProvisionedThroughputExceededException on reads")
    index.add("b", "The database was slow and reads timed out")
    index.add("c", "Throughput of the queue exceeded the consumers")
    scores = index.score("ProvisionedThroughputExceededException")
    assert max(scores, key=lambda k: scores[k]) == "a"


def test_coverage_is_the_share_of_query_terms_a_text_holds():
    index = Bm25Index()
    index.add("both", "redis cache failover")
    index.add("one", "redis cluster upgrade")
    index.add("none", "something else entirely")
    result = index.score_with_coverage("redis failover")
    assert result["both"][1] == 1.0
    assert 0 < result["one"][1] < 1
    assert "none" not in result


def test_removed_texts_no_longer_score():
    index = Bm25Index()
    index.add("a", "certificate expired")
    index.remove("a")
    assert index.score("certificate") == {}
    assert len(index) == 0
