"""The grammar of a rule's `from` and `to`, and the one normalisation of paths used for matching.

Pure: no HTTP, no database. `engine` compiles what this module parses; `validation` reports
what it refuses, each problem with the rule's field.
"""

from __future__ import annotations

import re
from itertools import repeat
from typing import NamedTuple
from urllib.parse import quote, quote_from_bytes, unquote_to_bytes

# RFC 3986 pchar without "%": these stay as they are; everything else is percent-encoded.
_SEGMENT_SAFE = "!$&'()*+,;=:@"
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
# A query keeps its own escapes and may also hold "/" and "?"; anything else is encoded.
_QUERY_SAFE = "!$&'()*+,;=:@/?%"
_PLAIN_QUERY = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TARGET_SAFE = "!#$%&'()*+,/:;=?@[]~"
_PLACEHOLDER = re.compile(r":([A-Za-z_][A-Za-z0-9_]*)")
_AUTHORITY_END = re.compile(r"[/?#]")
SPLAT = "splat"


class RuleSyntaxError(ValueError):
    """A `from` or `to` the grammar refuses; `field` is "from" or "to"."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _canonical_segment(segment: str) -> str:
    return quote_from_bytes(unquote_to_bytes(segment), safe=_SEGMENT_SAFE)


def canonical_path(path: str) -> str:
    """The form paths are compared in: escapes decoded where harmless, the rest upper-case
    percent-encoded (an encoded "/" stays encoded), trailing slashes dropped ("/" stays "/")."""
    if not _PLAIN_PATH.fullmatch(path):
        path = "/".join(_canonical_segment(s) for s in path.split("/"))
    if not path.startswith("/"):
        path = "/" + path
    return path.rstrip("/") or "/"


def split_segments(canonical: str) -> list[str]:
    """ "/" has no segments; "/a//b" has three ("a", "", "b")."""
    return [] if canonical == "/" else canonical[1:].split("/")


def safe_query(query: str) -> str:
    """The incoming query as it may go into a Location header: existing escapes kept, any
    character a URL cannot carry percent-encoded."""
    return query if _PLAIN_QUERY.fullmatch(query) else quote(query, safe=_QUERY_SAFE)


def query_key(pair: str) -> bytes:
    return unquote_to_bytes(pair.split("=", 1)[0].replace("+", " "))


def merge_query(target_query: str, incoming: str) -> str:
    """The incoming query kept, merged with the target's; the target's keys win on a clash."""
    if not incoming:
        return target_query
    if not target_query:
        return incoming
    taken = {query_key(p) for p in target_query.split("&") if p}
    kept = [p for p in incoming.split("&") if p and query_key(p) not in taken]
    return "&".join([target_query, *kept])


# A segment of a parsed `from`: ("", literal) for a literal in canonical form, (":", name) for
# a placeholder. A trailing "*" is not a segment: it is `Source.wildcard`.
Segment = tuple[str, str]


_NO_NAMES: frozenset[str] = frozenset()


class Source(NamedTuple):
    """A parsed `from` (a tuple: built once per rule per compile, it must be cheap)."""

    segments: tuple[Segment, ...]
    wildcard: bool
    exact: bool  # no placeholder, no wildcard: one path only
    names: frozenset[str]  # the placeholders it binds (with "splat" for a wildcard)
    key: str  # an exact source's canonical path ("" for a pattern)

    def path(self) -> str:
        """The canonical path of an exact source."""
        return self.key

    def shape(self) -> tuple[Segment, ...]:
        """What the source matches, placeholder names aside (equal shapes are duplicates)."""
        shape = tuple(("", v) if kind == "" else (":", "") for kind, v in self.segments)
        return (*shape, ("*", "")) if self.wildcard else shape


_PLAIN_SOURCE = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_PLAIN_EXACT = re.compile(r"/[A-Za-z0-9\-._~!$&'()+,;=@/]*")
_PLAIN_TARGET = re.compile(r"/[A-Za-z0-9\-._~!$&'()*+,;=@/]*")
_SUSPECT = re.compile(r"[\x00-\x20\x7f]|%(?![0-9A-Fa-f]{2})")


def _check_url_text(field: str, text: str) -> None:
    found = _SUSPECT.search(text)
    if found is None:
        return
    if found.group() != "%":
        raise RuleSyntaxError(field, f"`{field}` holds a space or control character; encode it.")
    raise RuleSyntaxError(field, f'`{field}` holds a "%" that is not a %XX escape.')


def plain_exact_key(text: str) -> str | None:
    """The canonical path of a `from` that is a plain literal path (the common case, made
    cheap: no placeholder, wildcard or escape), else None."""
    return (text.rstrip("/") or "/") if _PLAIN_EXACT.fullmatch(text) else None


# Sources and targets are built as plain tuples of their class (what the NamedTuple's own
# `__new__` does, without its Python frame): a large set builds tens of thousands of them.
_tuple_new = tuple.__new__


def parse_source(text: str) -> Source:
    key = plain_exact_key(text)
    if key is not None:
        segments = tuple(zip(repeat(""), key[1:].split("/"))) if key != "/" else ()
        return _tuple_new(Source, (segments, False, True, _NO_NAMES, key))
    plain = _PLAIN_SOURCE.fullmatch(text) is not None
    if not plain:
        if not text.startswith("/"):
            raise RuleSyntaxError("from", '`from` must be a path starting with "/".')
        if "?" in text or "#" in text:
            raise RuleSyntaxError("from", "`from` matches a path only: no query or fragment.")
        _check_url_text("from", text)
    raw = text.rstrip("/")
    wildcard = raw.endswith("/*")  # the last segment is "*"
    if wildcard:
        raw = raw[:-2]
    parts = raw[1:].split("/") if raw else []
    names = [part[1:] for part in parts if part[:1] == ":"]
    if "*" in raw or (names and not _good_names(names)):
        _refuse_segments(parts)
    if plain:
        segments = tuple([(":", p[1:]) if p[:1] == ":" else ("", p) for p in parts])
    else:
        segments = tuple(
            [(":", p[1:]) if p[:1] == ":" else ("", _canonical_segment(p)) for p in parts]
        )
    if wildcard:
        names.append(SPLAT)
    if names:
        return _tuple_new(Source, (segments, wildcard, False, frozenset(names), ""))
    key = "/" + "/".join([value for _, value in segments])
    return _tuple_new(Source, (segments, False, True, _NO_NAMES, key))


def _good_names(names: list[str]) -> bool:
    """Every placeholder name valid (ASCII identifiers are exactly `_NAME`), none `splat`, none
    twice: then no segment of the source can be refused."""
    return (
        all(name.isascii() and name.isidentifier() for name in names)
        and SPLAT not in names
        and len(set(names)) == len(names)
    )


def _refuse_segments(parts: list[str]) -> None:
    """Raises the problem of the first segment refused, in order (a stray `*`, or a
    placeholder with a bad, reserved or repeated name)."""
    names: list[str] = []
    for part in parts:
        if "*" in part:
            raise RuleSyntaxError("from", "`*` may only be the whole last segment, as in /blog/*.")
        if part[:1] == ":":
            names.append(_placeholder_name(part[1:], names))


def _placeholder_name(name: str, before: list[str]) -> str:
    if not _NAME.fullmatch(name):
        raise RuleSyntaxError("from", f"`:{name}` is not a placeholder: use :letters_digits_.")
    if name == SPLAT:
        raise RuleSyntaxError("from", "`:splat` is reserved for what a trailing /* matches.")
    if name in before:
        raise RuleSyntaxError("from", f"`:{name}` appears twice in `from`.")
    return name


# A parsed template: literal text and placeholder names, alternating, literal first.
Template = tuple[str, ...]


class Target(NamedTuple):
    """`to`, split where placeholders may stand (path and query) and where they may not."""

    origin: str  # "scheme://authority" of an absolute target, "" for a path
    path: Template
    query: Template
    fragment: str  # with its "#", or ""

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.path[1::2] + self.query[1::2])

    @property
    def on_site(self) -> bool:
        return self.origin == ""


def _template(text: str) -> Template:
    return tuple(_PLACEHOLDER.split(text)) if ":" in text else (text,)


def is_plain_target(text: str) -> bool:
    """`to` is a plain site path (no placeholder, query, fragment or escape): its Location is
    the text itself."""
    return _PLAIN_TARGET.fullmatch(text) is not None and not text.startswith("//")


def parse_target(text: str, names: frozenset[str] | None) -> Target:
    """`names` are the placeholders the rule's `from` binds, any other is an error (None: a
    `from` too broken to say, so placeholders go unchecked)."""
    target = _parse_target(text)
    if len(target.path) == len(target.query) == 1:
        return target
    _check_bound(target.names, names)
    return target


def _check_bound(used: frozenset[str], names: frozenset[str] | None) -> None:
    if names is None or used <= names:
        return
    raise RuleSyntaxError(
        "to",
        f"`:{sorted(used - names)[0]}` is not bound by `from` (write a literal colon as %3A).",
    )


def _parse_target(text: str) -> Target:
    """`to` parsed, its placeholders not yet checked against `from`."""
    if is_plain_target(text):
        return _tuple_new(Target, ("", (text,), ("",), ""))
    if not text:
        raise RuleSyntaxError("to", "`to` must not be empty.")
    _check_url_text("to", text)
    origin, rest = _split_origin(text)
    # A Location header carries ASCII: `/café` is sent as `/caf%C3%A9`, `bücher.example` as
    # its IDNA form.
    if not origin.isascii():
        origin = _idna_origin(origin)
    if not rest.isascii():
        rest = quote(rest, safe=_TARGET_SAFE)
    rest, _, fragment = rest.partition("#")
    path, _, query = rest.partition("?")
    return _tuple_new(
        Target, (origin, _template(path), _template(query), "#" + fragment if fragment else "")
    )


class Parser:
    """`parse_target` for the rules of one set, each distinct `to` parsed once: a large set
    repeats a few target texts thousands of times (`/news/:year/:slug`), and only the check of
    its placeholders against each rule's `from` is the rule's own. Build one per set."""

    __slots__ = ("_targets",)

    def __init__(self) -> None:
        self._targets: dict[str, tuple[Target, frozenset[str]]] = {}

    def target(self, text: str, names: frozenset[str] | None) -> Target:
        """`parse_target(text, names)`, the same answer or error."""
        known = self._targets.get(text)
        if known is None:
            target = _parse_target(text)
            plain = len(target.path) == len(target.query) == 1
            known = self._targets[text] = (target, _NO_NAMES if plain else target.names)
        target, used = known
        if used:
            _check_bound(used, names)
        return target


def _idna_origin(origin: str) -> str:
    scheme, _, authority = origin.partition("://")
    host, colon, port = authority.partition(":")
    try:
        return f"{scheme}://{host.encode('idna').decode('ascii')}{colon}{port}"
    except UnicodeError:
        raise RuleSyntaxError("to", "`to` names a host that is not a valid name.") from None


def _split_origin(text: str) -> tuple[str, str]:
    if text.startswith("/"):
        if text.startswith("//"):
            raise RuleSyntaxError("to", "`to` must be a path or an http(s) URL, not //host.")
        return "", text
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in ("http", "https"):
        raise RuleSyntaxError("to", '`to` must be a path starting with "/" or an http(s) URL.')
    authority = _AUTHORITY_END.split(rest, maxsplit=1)[0]
    if not authority or "@" in authority:
        raise RuleSyntaxError("to", "`to` must name a host (and no user or password).")
    return text[: len(scheme) + 3 + len(authority)], text[len(scheme) + 3 + len(authority) :]


def target_as_source(target: Target) -> Source | None:
    """An on-site target's path read as a source (a last `:splat` as `*`), to compare `from`
    with `to`; None for an off-site target or a path no source could be."""
    if not target.on_site:
        return None
    text = "".join(p if i % 2 == 0 else ":" + p for i, p in enumerate(target.path)).rstrip("/")
    if text.endswith("/:" + SPLAT):
        text = text[: -len(SPLAT) - 1] + "*"
    try:
        return parse_source(text or "/")
    except RuleSyntaxError:
        return None
