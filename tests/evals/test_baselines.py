import numpy as np

from evals.baselines import LargestMetricChange, MostErrors, robust_change_score
from mcp_server.backends.local import LocalBackend
from mcp_server.scenario import load_scenario_spec
from tests.evals.scenario_fixtures import write_scenario


def test_robust_change_score_measures_the_largest_move_in_interquartile_ranges():
    normal = np.array([10.0, 11.0, 12.0, 13.0, 14.0])
    assert robust_change_score(normal, np.array([12.0, 22.0])) == 5.0
    assert robust_change_score(normal, np.array([2.0])) == 5.0


def test_robust_change_score_still_scores_a_counter_that_leaves_a_flat_zero():
    assert robust_change_score(np.zeros(5), np.array([0.0, 3.0])) == 3.0


def test_most_errors_ranks_the_service_with_most_error_spans_and_logs_first(tmp_path):
    directory = write_scenario(tmp_path / "s")
    with LocalBackend.from_scenario(directory) as backend:
        outcome = MostErrors().run(backend, load_scenario_spec(directory))
    assert [h.service for h in outcome.hypotheses] == ["orders", "frontend"]
    assert outcome.hypotheses[0].evidence[0].description == "30 error spans and 30 error logs"


def test_largest_metric_change_ranks_the_service_whose_metric_jumped(tmp_path):
    directory = write_scenario(tmp_path / "s")
    with LocalBackend.from_scenario(directory) as backend:
        outcome = LargestMetricChange().run(backend, load_scenario_spec(directory))
    assert outcome.hypotheses[0].service == "orders"
    assert "db.connections" in outcome.hypotheses[0].summary
