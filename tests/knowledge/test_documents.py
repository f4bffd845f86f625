import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from knowledge.documents import (
    CoeDocument,
    SopDocument,
    dump_coe_json,
    load_document,
    parse_coe,
    split_markdown_sections,
)
from mcp_server.errors import InputFileError
from mcp_server.taxonomy import FaultType
from tests.knowledge.conftest import coe_data, sop_text


def test_a_sop_is_read_from_front_matter_and_split_into_sections_at_level_two_headings(write):
    doc = load_document(write("sop.md", sop_text()))
    assert isinstance(doc, SopDocument)
    assert doc.id == "sop-test"
    assert doc.fault_types == [FaultType.DEPENDENCY_THROTTLING]
    assert [s.heading for s in doc.sections] == ["Step 1: Can you roll back?", "Step 2: Shift away"]
    assert doc.sections[0].body == "kubectl rollout undo"


def test_text_before_the_first_heading_becomes_the_overview_section():
    sections = split_markdown_sections("# Title\nIntro line.\n## Steps\nDo it.\n### Detail\nStill steps.")
    assert [(s.heading, s.body) for s in sections] == [
        ("overview", "Intro line."),
        ("Steps", "Do it.\n### Detail\nStill steps."),
    ]


def test_headings_inside_code_fences_do_not_split_sections():
    sections = split_markdown_sections("## A\n```\n## not a heading\n```\n## B\nb")
    assert [s.heading for s in sections] == ["A", "B"]
    assert "## not a heading" in sections[0].body


@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Za-z][A-Za-z0-9 ]{0,20}[A-Za-z0-9]", fullmatch=True),
            st.from_regex(r"[a-z][a-z0-9 .,]{0,60}", fullmatch=True),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_rendered_sections_parse_back_to_the_same_headings_and_bodies(pairs):
    markdown = "\n".join(f"## {heading}\n{body}\n" for heading, body in pairs)
    parsed = split_markdown_sections(markdown)
    expected = [(h.strip(), b.strip()) for h, b in pairs if b.strip()]
    assert [(s.heading, s.body) for s in parsed] == expected


def test_a_sop_without_front_matter_is_rejected_naming_the_file(write):
    path = write("no-front.md", "# Just a title\n\nSome text\n")
    with pytest.raises(InputFileError) as caught:
        load_document(path)
    assert caught.value.path == path
    assert "front matter" in str(caught.value)


def test_broken_front_matter_yaml_reports_the_line_in_the_file(write):
    path = write("bad.md", "---\nid: x\ntitle: [unclosed\nlast_reviewed: 2026-01-01\n---\n## A\nb\n")
    with pytest.raises(InputFileError) as caught:
        load_document(path)
    assert caught.value.line is not None and caught.value.line >= 3
    assert str(path) in str(caught.value)


def test_an_unknown_fault_type_is_rejected_with_the_field_named(write):
    path = write("sop.md", sop_text(fault_types="[gremlins]"))
    with pytest.raises(InputFileError) as caught:
        load_document(path)
    assert caught.value.field == "fault_types.0"


def test_five_whys_nodes_without_ids_get_path_ids_under_their_parent():
    coe = parse_coe(coe_data())
    assert [n.id for n in coe.five_whys.walk()] == ["1", "trigger", "trigger.1", "1.2"]
    node = coe.why_node("trigger.1")
    assert node is not None and node.question == "Why no limit?"


def test_an_action_item_pointing_at_a_missing_why_node_is_rejected(write):
    data = coe_data(action_items=[{"title": "x", "why_addressed": "9.9"}])
    path = write("coe.json", json.dumps(data))
    with pytest.raises(InputFileError) as caught:
        load_document(path)
    assert "'9.9' is not a five_whys node id" in str(caught.value)
    assert str(path) in str(caught.value)


def test_repeated_why_node_ids_are_rejected():
    data = coe_data()
    data["five_whys"]["children"][1]["id"] = "trigger"
    with pytest.raises(InputFileError, match="unique"):
        parse_coe(data, "coe.json")


def test_invalid_json_reports_the_line(write):
    path = write("coe.json", '{\n  "id": "x",\n  oops\n}')
    with pytest.raises(InputFileError) as caught:
        load_document(path)
    assert caught.value.line == 3


def test_a_coe_round_trips_through_its_canonical_json(write):
    coe = parse_coe(coe_data())
    again = load_document(write("coe.json", dump_coe_json(coe)))
    assert again == coe


def test_yaml_and_json_coes_load_to_the_same_document(write):
    import yaml

    from_json = load_document(write("a.json", json.dumps(coe_data())))
    from_yaml = load_document(write("a.yaml", yaml.safe_dump(coe_data())))
    assert isinstance(from_json, CoeDocument)
    assert from_json == from_yaml


def test_a_file_with_another_extension_is_not_a_knowledge_document(write):
    with pytest.raises(InputFileError, match="not a knowledge document"):
        load_document(write("notes.txt", "hello"))
