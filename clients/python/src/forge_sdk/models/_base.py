"""The base of every model: fields as the API names them, unknown fields kept (a newer server
may add some), and the response's request id and ETag alongside."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, PrivateAttr


class ForgeModel(BaseModel):
    # Built on first use, not at import: most programs touch a handful of the models.
    model_config = ConfigDict(extra="allow", defer_build=True, populate_by_name=True)

    # The OpenAPI component this model mirrors (checked by the SDK's drift test).
    __schema__: ClassVar[str] = ""

    _request_id: str | None = PrivateAttr(default=None)
    _etag: str | None = PrivateAttr(default=None)

    @property
    def request_id(self) -> str | None:
        """The `Request-Id` of the response this object came in (not for list items)."""
        return self._request_id

    @property
    def etag(self) -> str | None:
        """The response's `ETag` (redirect sets: send it back as `if_match`)."""
        return self._etag

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
