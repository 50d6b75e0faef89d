"""Key tests mint many keys with one caller: the create bucket is not what they test."""

from dataclasses import replace

import pytest

from forge.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return replace(settings, ratelimit_create=1000)
