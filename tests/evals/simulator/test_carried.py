"""Which key terms the written records hold, as whole tokens."""

from evals.simulator.carried import carried


def test_a_status_code_inside_an_id_or_a_longer_number_is_not_carried():
    records = ['{"spanId": "404689e171533c01", "msg": "Item 4404 stock level 8"}']

    assert carried(["404"], records) == set()


def test_a_status_code_in_an_access_line_is_carried_whatever_the_case_of_the_other_terms():
    records = ['{"msg": "GET /api/inventory/{itemId} 404 10ms"}', "Request failed: KEYERROR: 'slot_id'"]

    assert carried(["404", "KeyError", "certificate"], records) == {"404", "KeyError"}


def test_a_metric_family_ending_in_a_separator_matches_as_a_prefix():
    records = ['{"name": "db.client.connection.pending_requests"}']

    assert carried(["db.client.connection.", "db.client.conn"], records) == {"db.client.connection."}
