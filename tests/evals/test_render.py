from evals.baselines import LargestMetricChange, MostErrors
from evals.harness import run_suite
from evals.render import compare_runs, markdown_table, read_json, render_html, write_json
from tests.evals.scenario_fixtures import write_scenario


def make_run(tmp_path):
    directories = [
        write_scenario(tmp_path / "a", name="a"),
        write_scenario(tmp_path / "b", name="b", cause="frontend"),
    ]
    return run_suite(directories, [MostErrors(), LargestMetricChange()], command="sleuth eval --suite x")


def test_html_report_is_self_contained_with_three_plots_and_every_scenario(tmp_path):
    page = render_html(make_run(tmp_path))
    assert page.count('src="data:image/png;base64,') == 3
    assert "http://" not in page and "https://" not in page
    assert "<td>a</td>" in page and "<td>b</td>" in page
    assert "(a) most errors wins" in page


def test_markdown_table_states_the_date_and_the_command_that_produced_it(tmp_path):
    run = make_run(tmp_path)
    text = markdown_table(run)
    assert f"Generated {run.created_at:%Y-%m-%d}" in text
    assert "`sleuth eval --suite x`" in text
    assert "| (a) most errors wins | 50% |" in text


def test_json_results_read_back_to_the_same_run(tmp_path):
    run = make_run(tmp_path)
    write_json(run, tmp_path / "out" / "results.json")
    assert read_json(tmp_path / "out" / "results.json") == run


def test_comparison_shows_rate_deltas_and_names_scenarios_that_got_worse(tmp_path):
    right = run_suite([write_scenario(tmp_path / "old" / "a", name="a")], [MostErrors()])
    wrong = run_suite([write_scenario(tmp_path / "new" / "a", name="a", cause="frontend")], [MostErrors()])
    rows, changes = compare_runs(right, wrong)
    assert rows[0][:2] == ["(a) most errors wins", "0% (-100%)"]
    assert changes == ["worse: a · most_errors: service only → wrong (first guess orders/unknown)"]
