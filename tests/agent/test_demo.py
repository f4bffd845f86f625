"""`make demo` runs `python -m agent.demo`: the README's first command, end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_the_demo_investigates_and_drafts_a_coe_in_a_fresh_data_directory(tmp_path: Path) -> None:
    env = {**os.environ, "SLEUTH_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1"}
    env.pop("ANTHROPIC_API_KEY", None)

    done = subprocess.run(
        [sys.executable, "-m", "agent.demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    reports = tmp_path / "reports" / "demo"
    assert (reports / "investigation.json").is_file()
    assert list(reports.glob("coe-*.md")) and list(reports.glob("coe-*.html"))
