"""Graph nodes, one module per step: scope, gather, consult, hypothesize, verify, review, mitigate, report."""
