"""The Python SDK of the Forge API.

    from forge_sdk import Forge
    client = Forge()                       # FORGE_TOKEN, FORGE_API_URL from the environment
    for site in client.sites.list():
        print(site.slug)

Only `httpx` is imported with this module; pydantic and the models load on the first typed
answer (`forge_sdk.models`).
"""

from __future__ import annotations

from forge_sdk._client import AsyncForge, Forge, RawData
from forge_sdk._endpoints import AsyncPager, Pager
from forge_sdk._http import Answer
from forge_sdk._jobs import AsyncJobHandle, JobHandle
from forge_sdk._version import FORGE_VERSION, __version__
from forge_sdk.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ForgeError,
    InternalServerError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PermissionDeniedError,
    PreconditionFailedError,
    RateLimitError,
    ValidationError,
)
from forge_sdk.resources._common import NOT_GIVEN

__all__ = [
    "FORGE_VERSION",
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Answer",
    "AsyncForge",
    "AsyncJobHandle",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "Forge",
    "ForgeError",
    "InternalServerError",
    "JobFailedError",
    "JobHandle",
    "JobTimeoutError",
    "NotFoundError",
    "Pager",
    "PermissionDeniedError",
    "PreconditionFailedError",
    "RateLimitError",
    "RawData",
    "ValidationError",
    "__version__",
]
