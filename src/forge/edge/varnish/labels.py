"""The purge labels (`xkey` keys) of an object Varnish holds for the edge, and the labels a
purge selector names. Pure: no HTTP, no database.

Every label is a short hash of (kind, environment, type, value), so a tag of any printable
characters, a path or a cache hash all become one space-free `xkey` token, and a label of one
environment can never name another's objects. Labels carry the type (page or object) so a purge
restricted to a type names exactly that type's objects: xkey purges the union of its keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from hashlib import blake2b

from forge.edge.store import OBJECT, PAGE, Selector

ALL = "forge-all"  # on every object: what an edge (re)starting behind Varnish purges first
_KINDS = {"env": "e", "tag": "t", "path": "p", "hash": "h"}


def label(kind: str, env_id: str, type_: str, value: str = "") -> str:
    key = f"{env_id}\n{type_}\n{value}".encode()
    return _KINDS[kind] + blake2b(key, digest_size=12).hexdigest()


def object_labels(
    env_id: str, type_: str, path: str, tags: Iterable[str], digest_hex: str
) -> list[str]:
    """What one stored object answers to: everything of its environment and type, each of its
    tags, its path (every query and Vary variant share it) and its cache hash."""
    return [
        ALL,
        label("env", env_id, type_),
        label("path", env_id, type_, path),
        label("hash", env_id, type_, digest_hex.lower()),
        *(label("tag", env_id, type_, tag) for tag in tags),
    ]


def types_of(selector: Selector) -> tuple[str, ...]:
    return (PAGE, OBJECT) if selector.type == "all" else (selector.type,)


def selector_labels(env_id: str, selector: Selector, paths: Iterable[str] = ()) -> list[str]:
    """The labels a purge names; `paths` are concrete paths its wildcards expanded to."""
    labels: list[str] = []
    for type_ in types_of(selector):
        if selector.names_nothing:
            labels.append(label("env", env_id, type_))
            continue
        labels += [label("tag", env_id, type_, tag) for tag in selector.tags]
        exact = [p for p in selector.paths if "*" not in p]
        labels += [label("path", env_id, type_, p) for p in (*exact, *paths)]
        labels += [label("hash", env_id, type_, h.lower()) for h in selector.cache_hashes]
    return list(dict.fromkeys(labels))


def ban_regex(pattern: str) -> str:
    """A path pattern (`*`: zero or more characters) as an anchored PCRE2 regex that needs no
    quoting in a ban expression: every character but letters, digits and `/` escaped."""
    parts = ("".join(_literal(ch) for ch in part) for part in pattern.split("*"))
    return "^" + ".*".join(parts) + "$"


_PLAIN = re.compile(r"[A-Za-z0-9/]")


def _literal(ch: str) -> str:
    return ch if _PLAIN.fullmatch(ch) else f"\\x{{{ord(ch):x}}}"
