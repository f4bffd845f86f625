"""What the customers of the entry service saw, in the words the title, the five whys and the
customer RCA use: only what the data measured.

A trigger that says "errors and slow responses" is a person's first description, and a fault type
says what usually happens; neither is a measurement. Requests counted as failed are errors;
requests counted as too slow by a latency SLI, or whose median latency clearly rose, are slow
responses. When the data measured neither, the words stay neutral.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SymptomKind = Literal["errors", "slow responses", "slow responses and errors"]


@dataclass(frozen=True)
class Symptom:
    title: str  # "Errors on frontend caused by ..."
    seen: str  # "Why did customers of frontend see errors?"
    entry_question: str  # "Why did frontend return errors to customers?"
    verb: str  # "Why did checkout fail?" ("go wrong" when nothing was measured)
    spread: str  # "the failures started in checkout", "the investigation traced the slowdown to"
    bad_requests: str  # "requests to `checkout` failed"


_WORDS: dict[SymptomKind | None, Symptom] = {
    "errors": Symptom(
        "Errors on", "see errors", "return errors to customers", "fail", "the failures", "failed"
    ),
    "slow responses": Symptom(
        "Slow responses on",
        "see slow responses",
        "respond slowly to customers",
        "slow down",
        "the slowdown",
        "were slow",
    ),
    "slow responses and errors": Symptom(
        "Slow responses and errors on",
        "see slow responses and errors",
        "return errors and respond slowly to customers",
        "fail",
        "the failures",
        "failed",
    ),
    None: Symptom(
        "Incident on", "see a problem", "affect customers", "go wrong", "the incident", "failed or were slow"
    ),
}


def symptom_words(kind: SymptomKind | None) -> Symptom:
    """The wording for what was measured (``None``: nothing was)."""
    return _WORDS[kind]
