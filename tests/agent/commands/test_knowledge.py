import json

import pytest
from typer.testing import CliRunner

from agent.cli import app
from knowledge.embeddings import default_embedder
from tests.knowledge.conftest import sop_text

runner = CliRunner()


@pytest.fixture(autouse=True)
def hashing_embedder(monkeypatch):
    """The CLI wiring is under test here, not the model: use the deterministic embedder."""
    monkeypatch.setenv("SLEUTH_EMBEDDER", "hashing")
    default_embedder.cache_clear()
    yield
    default_embedder.cache_clear()


def test_ingest_then_search_as_json_finds_the_document(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.md").write_text(sop_text(doc_id="sop-a", title="Visits table throttled"), encoding="utf-8")
    data = tmp_path / "kb"
    result = runner.invoke(app, ["knowledge", "ingest", str(docs), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert "sop-a" in result.output
    result = runner.invoke(
        app, ["knowledge", "search", "Visits throttled", "--type", "sop", "--json", "--data-dir", str(data)]
    )
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    assert hits[0]["doc_id"] == "sop-a"
    assert {"title", "section", "snippet", "score", "type"} <= set(hits[0])


def test_a_bad_document_is_named_and_skipped_with_exit_code_2(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text(sop_text(), encoding="utf-8")
    (docs / "broken.md").write_text("no front matter here\n", encoding="utf-8")
    result = runner.invoke(app, ["knowledge", "ingest", str(docs), "--data-dir", str(tmp_path / "kb")])
    assert result.exit_code == 2
    output = " ".join(result.output.split())
    assert "broken.md" in output and "front matter" in output
    assert "sop-test" in output


def test_search_on_a_new_store_uses_the_bundled_sops_and_filters_by_service(tmp_path):
    result = runner.invoke(
        app,
        ["knowledge", "search", "ProvisionedThroughputExceededException", "--service", "visits", "-k", "2",
         "--data-dir", str(tmp_path / "kb")],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "sop-dynamodb-throttling" in result.output


def test_a_missing_ingest_path_is_a_clear_error_not_a_traceback(tmp_path):
    result = runner.invoke(
        app, ["knowledge", "ingest", str(tmp_path / "nope"), "--data-dir", str(tmp_path / "kb")]
    )
    assert result.exit_code == 2
    assert "no such file or directory" in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_add_coe_keeps_the_file_under_the_data_dir_and_makes_it_searchable(tmp_path):
    from tests.knowledge.conftest import coe_data

    report = tmp_path / "inv-1.coe.json"
    report.write_text(json.dumps(coe_data(doc_id="coe-inv-1", origin="investigation")), encoding="utf-8")
    data = tmp_path / "kb"
    result = runner.invoke(app, ["knowledge", "add-coe", str(report), "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert (data / "coes" / "coe-inv-1.json").is_file()
    result = runner.invoke(
        app,
        [
            "knowledge",
            "search",
            "Visits table throttled reads",
            "--type",
            "coe",
            "--json",
            "--data-dir",
            str(data),
        ],
    )
    assert json.loads(result.output)[0]["doc_id"] == "coe-inv-1"


def test_add_coe_refuses_a_sop_naming_the_file(tmp_path):
    sop = tmp_path / "a.md"
    sop.write_text(sop_text(), encoding="utf-8")
    result = runner.invoke(app, ["knowledge", "add-coe", str(sop), "--data-dir", str(tmp_path / "kb")])
    assert result.exit_code == 2
    assert "not a COE" in " ".join(result.output.split())


def test_a_data_dir_that_is_a_file_is_one_clear_error(tmp_path):
    a_file = tmp_path / "kb"
    a_file.write_text("x")
    for command in (["search", "throttling"], ["ingest"]):
        result = runner.invoke(app, ["knowledge", *command, "--data-dir", str(a_file)])
        assert result.exit_code == 2, result.output
        assert f"--data-dir {a_file}: is a file" in result.output


def test_ingesting_a_missing_path_exits_2_before_touching_the_store(tmp_path):
    result = runner.invoke(
        app, ["knowledge", "ingest", str(tmp_path / "nope"), "--data-dir", str(tmp_path / "kb")]
    )
    assert result.exit_code == 2
    assert "nope: no such file or directory" in result.output
    assert not (tmp_path / "kb").exists()
