"""The province tests read the link's log lines and the messages of `loa province` in English."""

import pytest


@pytest.fixture(autouse=True)
def _english(english: None) -> None:
    """Every province test: messages made in the test process in English."""
