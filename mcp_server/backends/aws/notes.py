"""What the AWS backend cut, sampled or skipped, so answers never look more complete than they are.

The notebook is the backend-neutral one (:mod:`mcp_server.backends.notes`), logging to
``sleuth.backends.aws``.
"""

from __future__ import annotations

from mcp_server.backends.base import BackendNote
from mcp_server.backends.notes import NoteBook

LOGGER = "sleuth.backends.aws"


def aws_notebook() -> NoteBook:
    return NoteBook(LOGGER)


__all__ = ["LOGGER", "BackendNote", "NoteBook", "aws_notebook"]
