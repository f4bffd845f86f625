from knowledge.chunks import MAX_CHUNK_CHARS, chunk_document, split_long
from knowledge.documents import parse_coe, parse_sop_markdown
from tests.knowledge.conftest import coe_data, sop_text


def test_a_sop_becomes_an_about_chunk_plus_one_chunk_per_section_with_stable_ids():
    chunks = chunk_document(parse_sop_markdown(sop_text()))
    assert [c.id for c in chunks] == [
        "sop-test::about",
        "sop-test::step-1-can-you-roll-back",
        "sop-test::step-2-shift-away",
    ]
    assert chunks[0].text.startswith("Test runbook\nabout\nRunbook for: Test runbook.")
    assert all(c.services == ("visits",) and c.fault_types == ("dependency_throttling",) for c in chunks)


def test_a_coe_is_chunked_by_part_with_one_five_whys_chunk_per_branch():
    sections = [c.section for c in chunk_document(parse_coe(coe_data()))]
    assert sections == [
        "about",
        "customer impact",
        "timeline",
        "metrics",
        "five whys: trigger",
        "five whys: detection",
        "lessons",
        "action items",
    ]


def test_action_item_chunks_show_status_and_term():
    chunk = next(c for c in chunk_document(parse_coe(coe_data())) if c.section == "action items")
    assert "[done] Add an alarm (short term)" in chunk.body
    assert "[open] Paginate (mid term)" in chunk.body


def test_long_sections_are_split_at_paragraphs_into_parts_under_the_limit():
    body = "\n\n".join(f"Paragraph {i} " + "word " * 60 for i in range(12))
    parts = split_long(body)
    assert len(parts) > 1
    assert all(len(p) <= MAX_CHUNK_CHARS for p in parts)
    assert "".join(parts).replace(" ", "").replace("\n", "") == body.replace(" ", "").replace("\n", "")


def test_later_parts_of_a_long_section_get_numbered_ids():
    body = "## Steps\n" + "\n\n".join("step " * 100 for _ in range(5))
    ids = [c.id for c in chunk_document(parse_sop_markdown(sop_text(body=body)))]
    assert ids[1:3] == ["sop-test::steps", "sop-test::steps~1"]


def test_repeated_section_names_keep_distinct_ids():
    body = "## Notes\na\n## Notes\nb\n"
    ids = [c.id for c in chunk_document(parse_sop_markdown(sop_text(body=body)))]
    assert ids[1:] == ["sop-test::notes", "sop-test::notes-2"]
