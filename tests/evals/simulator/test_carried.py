"""Which key names the written records hold, as whole tokens."""

from evals.simulator.carried import carried


def test_a_name_inside_a_longer_token_is_not_carried():
    records = ['{"version": "13.5.30", "spanId": "404689e171533c01", "msg": "Item 4404 stock level 8"}']

    assert carried(["3.5.3", "404"], records) == set()


def test_names_are_carried_whatever_their_case_and_absent_ones_are_not():
    records = ['{"version": "3.5.3"}', "Request failed: KEYERROR: 'slot_id'"]

    assert carried(["3.5.3", "KeyError", "us-east-1b"], records) == {"3.5.3", "KeyError"}


def test_a_metric_family_ending_in_a_separator_matches_as_a_prefix():
    records = ['{"name": "db.client.connection.pending_requests"}']

    assert carried(["db.client.connection.", "db.client.conn"], records) == {"db.client.connection."}
