"""People's verdicts on a finished investigation: accept or reject a hypothesis.

A verdict is stored per hypothesis (``service/fault_type``, which survives re-ranking) and the
ranking is recomputed from the stored result with the same rule the graph's review step uses
(:func:`agent.reranking.apply_feedback`): accepted hypotheses are marked verified,
rejected ones drop below the rest. The summary in the queue is replaced, so Slack, webhooks and
``GET /investigations/{id}`` all show the reviewed ranking.
"""

from __future__ import annotations

from typing import Any, Protocol

from agent.reranking import apply_feedback
from agent.service.investigator import summarise
from agent.service.jobs import JobReader, PeopleFeedback
from agent.service.reports import ResultMissing, ResultStore
from agent.state import HumanFeedback


class ReviewStore(JobReader, PeopleFeedback, Protocol):
    pass


class ReviewDesk:
    def __init__(self, store: ReviewStore, results: ResultStore) -> None:
        self.store = store
        self.results = results

    def review(self, job_id: str, hypothesis: str, accepted: bool, user: str) -> dict[str, Any]:
        """Record the verdict; return the re-ranked summary. Raises ResultMissing when not finished."""
        result = self.results.result(job_id)  # first: no verdict is stored for an unfinished job
        job = self.store.get(job_id)
        if job is None or not self.store.record_verdict(job_id, hypothesis, accepted, user):
            raise ResultMissing(f"no investigation {job_id}")
        verdicts = self.store.verdicts(job_id)
        feedback = HumanFeedback(
            accepted_keys=[v.hypothesis for v in verdicts if v.accepted],
            rejected_keys=[v.hypothesis for v in verdicts if not v.accepted],
        )
        reviewed = result.model_copy(update={"hypotheses": apply_feedback(result.hypotheses, [feedback])})
        summary = summarise(reviewed, (job.result or {}).get("report"))
        summary["verdicts"] = {v.hypothesis: {"accepted": v.accepted, "user": v.user} for v in verdicts}
        self.store.update_result(job_id, summary)
        return summary
