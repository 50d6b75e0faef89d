"""Resource identifiers: `<type>_<ULID>`, sortable by creation time."""

from ulid import ULID

PREFIXES = frozenset(
    {
        "team",
        "cli",
        "proj",
        "site",
        "env",
        "dep",
        "job",
        "key",
        "ks",
        "evt",
        "req",
        "sec",
        "secv",
        "edge",
        "rdv",
    }
)


def new_id(prefix: str) -> str:
    assert prefix in PREFIXES, prefix
    return f"{prefix}_{ULID()}"
