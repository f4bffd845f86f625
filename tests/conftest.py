from __future__ import annotations

import pytest

from tests.issue16_drafts import Issue16Drafts


@pytest.fixture(scope="session")
def issue16(tmp_path_factory: pytest.TempPathFactory) -> Issue16Drafts:
    """The issue-16 incidents, simulated and drafted once per session for every module reading them."""
    return Issue16Drafts(tmp_path_factory.mktemp("issue16"))
