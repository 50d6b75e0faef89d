"""Key tests mint many keys with one caller: the create bucket is not what they test."""

import pytest

from forge.config import Settings


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"ratelimit_create": 1000})
