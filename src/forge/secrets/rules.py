"""The rules on secret names, values and counts. Each violation is a 422 naming its rule."""

from __future__ import annotations

import re

from forge.errors import ValidationFailed

NAME_PATTERN = re.compile(r"^[A-Z_][A-Z0-9_]*$")
NAME_MAX_CHARS = 256
RESERVED_PREFIX = "FORGE_"
VALUE_MAX_BYTES = 64 * 1024
KEYS_PER_ENVIRONMENT = 1000

# `check_name` as the OpenAPI document declares it (path parameters and body fields alike).
NAME_SCHEMA = {
    "type": "string",
    "minLength": 1,
    "maxLength": NAME_MAX_CHARS,
    "pattern": f"^(?!{RESERVED_PREFIX})[A-Z_][A-Z0-9_]*$",
    "description": f"A secret's name: {NAME_PATTERN.pattern}, at most {NAME_MAX_CHARS} "
    f"characters, not starting with {RESERVED_PREFIX}.",
}


def check_name(name: str, param: str = "key") -> str:
    if len(name) > NAME_MAX_CHARS:
        raise ValidationFailed(
            f"{param}: names are at most {NAME_MAX_CHARS} characters (rule: name_length).",
            param=param,
        )
    if not NAME_PATTERN.fullmatch(name):
        raise ValidationFailed(
            f"{param}: names must match ^[A-Z_][A-Z0-9_]*$ (rule: name_pattern).", param=param
        )
    if name.startswith(RESERVED_PREFIX):
        raise ValidationFailed(
            f"{param}: names starting with {RESERVED_PREFIX} are reserved (rule: name_reserved).",
            param=param,
        )
    return name


def check_value(value: str, param: str = "value") -> bytes:
    encoded = value.encode("utf-8")
    if len(encoded) > VALUE_MAX_BYTES:
        raise ValidationFailed(
            f"{param}: values are at most {VALUE_MAX_BYTES} bytes (64 KiB) (rule: value_size).",
            param=param,
        )
    return encoded


def check_room(existing: int, adding: int) -> None:
    if existing + adding > KEYS_PER_ENVIRONMENT:
        raise ValidationFailed(
            f"An environment holds at most {KEYS_PER_ENVIRONMENT} secrets "
            "(rule: keys_per_environment).",
            param="key",
        )
