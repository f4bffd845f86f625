"""Tell-tale signs of text written to steer a model rather than to record what a system did.

Fencing keeps planted instructions inside the prompt's untrusted-data blocks, but a model may
still obey them. These checks are the second line: evidence whose text reads like instructions to
a model cannot back a hypothesis, and a hypothesis summary that recommends destroying something
or repeats such instructions is withheld. Matching happens on a folded form of the text (NFKC,
invisible characters removed, common Cyrillic and Greek look-alikes mapped to Latin, spacing
collapsed), so ``ＩＧＮＯＲＥ``, ``ign\u200bore`` and ``іgnore`` with a Cyrillic i all read ``ignore``.
The patterns are deliberately specific: application logs rarely address "previous instructions".
"""

from __future__ import annotations

import re
import unicodedata

_INVISIBLE = re.compile("[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]")
# Look-alikes from Cyrillic, Greek and Latin extensions that NFKC leaves alone.
_HOMOGLYPHS = str.maketrans(
    "аеорсухіјѕԁһӏԛԝвкмнтАЕОРСУХІЈЅВКМНТαεοριτυνκχΑΕΟΡΙΤΥΝΚΧΒΜΗΖɡɑ",
    "aeopcyxijsdhlqwbkmhtaeopcyxijsbkmhtaeopitunkxaeopitynkxbmhzga",
)

_INSTRUCTION = re.compile(
    r"|".join(
        [
            r"\b(?:ignore|disregard|forget|override|bypass)\b.{0,40}\b(?:instructions?|prompts?|rules|guidelines|directions|context|guardrails)\b",
            r"\byou are (?:now (?:a|an|in|the|acting|operating|free|allowed|permitted|authori[sz]ed|[a-z]*bot)|no longer)\b",
            r"\b(?:new|updated|revised|real) (?:instructions?|system prompt|task|orders)\b",
            r"\bsystem prompt\b",
            r"<\s*/?\s*(?:system|assistant|human|user|instructions?|untrusted-data|tool_result|tool_use)\b",
            r"\b(?:system|assistant|human|developer)\s*:\s*(?:you\b|ignore|disregard|from now on|new instructions)",
            r"\b(?:ai|llm|language model|assistant|claude|gpt|chatbot)\b.{0,30}\b(?:must|should|shall|will now|are instructed)\b",
            r"\b(?:attention|note|message|instruction) (?:to|for) (?:the )?(?:ai|llm|model|assistant|agent|investigator)\b",
            r"\bsubmit_hypotheses\b",
            r"[\"']hypotheses[\"']\s*:",
            r"[\"']evidence_ids[\"']\s*:",
            r"\bresult id tool-\d",
            r"\[(?:traces|logs|metrics|changes|slos|alarms|tool|human|verify|knowledge)-\d+(?:-\d+)*\]",
            r"\b(?:the )?on-call engineer (?:reviewed|accepted|rejected|says|confirmed)\b",
            r"\b(?:report|conclude|state|say|answer) that\b.{0,60}\b(?:root cause|caused)\b",
            r"\b(?:call|invoke|use|run) (?:the )?(?:tool|function)\b",
            r"\b(?:restart|rollback|roll_back|delete|scale|drop)_[a-z_]+\s*\(",
            r"\bwith confidence (?:1(?:\.0+)?|100 ?%)",
        ]
    ),
    re.IGNORECASE,
)

_DESTRUCTIVE = re.compile(
    r"\b(?:delete|deleting|drop|dropping|truncate|truncating|wipe|wiping|destroy|destroying|purge|purging|erase|erasing|rm -rf|nuke)\b"
    r".{0,40}\b(?:database|db|table|tables|data|bucket|buckets|cluster|backups?|volumes?|disks?|records|everything|all)\b"
    r"|\b(?:disable|disabling|turn off)\b.{0,30}\b(?:auth|authentication|security|firewall|logging|monitoring|alarms|encryption)\b"
    r"|\brm -rf\b",
    re.IGNORECASE,
)


def fold(text: str) -> str:
    """The text as the checks read it: normalised, invisible characters gone, look-alikes Latin."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).translate(_HOMOGLYPHS)
    return " ".join(text.split())


def instruction_in(text: str) -> str | None:
    """The phrase that makes ``text`` read like instructions to a model, or None."""
    match = _INSTRUCTION.search(fold(text))
    return match.group(0) if match else None


def destructive_advice_in(text: str) -> str | None:
    """A recommendation to destroy data or switch off protection, or None."""
    match = _DESTRUCTIVE.search(fold(text))
    return match.group(0) if match else None
