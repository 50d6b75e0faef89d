"""GitHub's secret-scanning partner format: alerts in, one verdict per token out."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Alert(BaseModel):
    """One reported token. Unknown fields GitHub may add later are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")

    token: str = Field(max_length=512)
    type: str = Field(max_length=128)
    url: str = Field(default="", max_length=4096)
    source: str = Field(default="", max_length=128)


MAX_ALERTS = 1000
Alerts = TypeAdapter(list[Alert])


class Verdict(BaseModel):
    token_raw: str
    token_type: str
    label: Literal["true_positive", "false_positive"]
