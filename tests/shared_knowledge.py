"""One knowledge store for the tests that investigate or draft with the bundled runbooks and COEs.

Embedding the bundled documents with the real model takes about 20 s on two cores; it is done once
per checkout into this git-ignored directory (never the checkout's own ``.data``), and the tests
only read it. A test about building the store gives its own directory instead.
"""

from pathlib import Path

KNOWLEDGE_DIR = Path(__file__).resolve().parents[1] / "build" / "eval" / "report-gate-data"
