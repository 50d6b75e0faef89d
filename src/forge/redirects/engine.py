"""The redirect matching engine: compile a rule set once, answer `match(path, query)` fast.

Pure: no HTTP, no database. The API answers its test call with it and the edge answers real
traffic with it, so both always agree. Public API (stable):

    Rule(source, target, status=301, comment=None)      frozen; `source` is `from`, `target` `to`
    compile_rules(rules) -> CompiledRules               raises InvalidRule(index, field, message)
    CompiledRules.match(path, query="") -> Match | None
        `path` as sent on the wire (percent-encoded, e.g. ASGI `raw_path` decoded as latin-1),
        `query` without its "?". Match(rule, index, status, location).
    CompiledRules.chain(path, query="", host=None) -> Chain
        every hop a client would follow, Chain(hops=(Hop(location, status, index), ...), loop);
        an absolute `to` is followed only when its host equals `host`.
    CompiledRules.rules, len(CompiledRules), MAX_HOPS

Semantics (docs/redirects.md): path only; first match in list order; trailing slashes and
percent-encoding normalised, case-sensitive; a trailing `/*` matches the prefix and all below
it, carried into `to` as `:splat`; `:name` matches one non-empty segment; the incoming query is
kept and merged with the target's (the target's keys win).

Exact sources live in a hash map; patterns in a segment trie whose nodes remember the lowest
rule index below them, so a match costs O(path length) whatever the number of rules while the
first matching rule in list order still wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from forge.redirects.syntax import (
    SPLAT,
    RuleSyntaxError,
    Source,
    Target,
    canonical_path,
    merge_query,
    parse_source,
    parse_target,
    safe_query,
    split_segments,
)

__all__ = [
    "MAX_HOPS",
    "Chain",
    "CompiledRules",
    "Hop",
    "InvalidRule",
    "Match",
    "Rule",
    "compile_rules",
]

MAX_HOPS = 20  # browsers give up after 20 redirects
NO_RULE = 1 << 62  # larger than any index


@dataclass(frozen=True, slots=True)
class Rule:
    source: str
    target: str
    status: int = 301
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    rule: Rule
    index: int
    status: int
    location: str


@dataclass(frozen=True, slots=True)
class Hop:
    location: str
    status: int
    index: int


@dataclass(frozen=True, slots=True)
class Chain:
    hops: tuple[Hop, ...]
    loop: bool


class InvalidRule(ValueError):
    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(f"rules[{index}].{field}: {message}")
        self.index, self.field, self.message = index, field, message


@dataclass(frozen=True, slots=True)
class Parsed:
    """One rule with its parsed `from` and `to`, at its index in the set."""

    index: int
    rule: Rule
    source: Source
    target: Target


def parse_rule(index: int, rule: Rule) -> Parsed:
    try:
        source = parse_source(rule.source)
        return Parsed(index, rule, source, parse_target(rule.target, source.names))
    except RuleSyntaxError as err:
        raise InvalidRule(index, err.field, err.message) from None


class _Node:
    __slots__ = ("children", "end", "lowest", "param", "star")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.param: _Node | None = None
        self.end = NO_RULE  # lowest rule whose segments end here, without a wildcard
        self.star = NO_RULE  # lowest rule with these segments and a trailing /*
        self.lowest = NO_RULE  # lowest rule anywhere at or below this node


class _Trie:
    def __init__(self) -> None:
        self.root = _Node()

    def add(self, parsed: Parsed) -> None:
        node, index = self.root, parsed.index
        node.lowest = min(node.lowest, index)
        for kind, value in parsed.source.segments:
            if kind == ":":
                node.param = node.param or _Node()
                node = node.param
            else:
                node = node.children.setdefault(value, _Node())
            node.lowest = min(node.lowest, index)
        if parsed.source.wildcard:
            node.star = min(node.star, index)
        else:
            node.end = min(node.end, index)

    def first(self, segments: list[str], below: int) -> int:
        """The lowest index below `below` of a pattern matching `segments`, else `below`."""
        best, count = below, len(segments)
        stack = [(self.root, 0)]
        while stack:
            node, depth = stack.pop()
            if node.lowest >= best:
                continue
            if node.star < best:
                best = node.star
            if depth == count:
                best = min(best, node.end)
                continue
            segment = segments[depth]
            child = node.children.get(segment)
            if child is not None and child.lowest < best:
                stack.append((child, depth + 1))
            if node.param is not None and segment and node.param.lowest < best:
                stack.append((node.param, depth + 1))
        return best

    def first_covering(self, source: Source, below: int) -> int:
        """The lowest index below `below` of a pattern matching every path `source` matches
        (so `source` can never be reached past it), else `below`."""
        best, count = below, len(source.segments)
        stack = [(self.root, 0)]
        while stack:
            node, depth = stack.pop()
            if node.lowest >= best:
                continue
            best = min(best, node.star)
            if depth == count:
                if not source.wildcard:
                    best = min(best, node.end)
                continue
            kind, value = source.segments[depth]
            child = node.children.get(value) if kind == "" else None
            if child is not None and child.lowest < best:
                stack.append((child, depth + 1))
            if node.param is not None and (kind == ":" or value) and node.param.lowest < best:
                stack.append((node.param, depth + 1))
        return best


def _fill(template: tuple[str, ...], bound: dict[str, str]) -> str:
    if len(template) == 1:
        return template[0]
    return "".join(part if i % 2 == 0 else bound[part] for i, part in enumerate(template))


def bind(parsed: Parsed, segments: list[str]) -> dict[str, str]:
    """The placeholder values of a path `parsed.source` matches."""
    source = parsed.source
    bound = {value: segments[i] for i, (kind, value) in enumerate(source.segments) if kind == ":"}
    if source.wildcard:
        bound[SPLAT] = "/".join(segments[len(source.segments) :])
    return bound


def location(parsed: Parsed, bound: dict[str, str], query: str) -> str:
    target = parsed.target
    path = _fill(target.path, bound)
    merged = merge_query(_fill(target.query, bound), safe_query(query) if query else "")
    return target.origin + path + ("?" + merged if merged else "") + target.fragment


class CompiledRules:
    """A compiled rule set; immutable once built, safe to share between threads."""

    def __init__(self, parsed: Iterable[Parsed]) -> None:
        self._parsed: dict[int, Parsed] = {}
        self._exact: dict[str, int] = {}
        self._trie = _Trie()
        self._patterns = 0
        for item in parsed:
            self._parsed[item.index] = item
            if item.source.exact:
                self._exact.setdefault(item.source.path(), item.index)
            else:
                self._trie.add(item)
                self._patterns += 1
        self.rules = tuple(p.rule for p in self._parsed.values())

    def __len__(self) -> int:
        return len(self._parsed)

    def first_index(self, canonical: str) -> tuple[int, list[str]]:
        """The index of the first rule matching a canonical path (or a huge number), and the
        path's segments."""
        best = self._exact.get(canonical, NO_RULE)
        segments = split_segments(canonical)
        if self._patterns:
            best = self._trie.first(segments, best)
        return best, segments

    def first_covering(self, source: Source, below: int) -> int:
        return self._trie.first_covering(source, below) if self._patterns else below

    def parsed(self, index: int) -> Parsed:
        return self._parsed[index]

    def match(self, path: str, query: str = "") -> Match | None:
        index, segments = self.first_index(canonical_path(path))
        if index == NO_RULE:
            return None
        parsed = self._parsed[index]
        to = location(parsed, bind(parsed, segments), query)
        return Match(parsed.rule, index, parsed.rule.status, to)

    def chain(self, path: str, query: str = "", host: str | None = None) -> Chain:
        first = self.match(path, query)
        if first is None:
            return Chain((), False)
        hop = Hop(first.location, first.status, first.index)
        return self.follow(canonical_path(path), hop, host)

    def follow(self, start: str, hop: Hop, host: str | None) -> Chain:
        """The chain from `start` (a canonical path) whose first hop is `hop`."""
        seen, hops = {start}, [hop]
        while len(hops) <= MAX_HOPS:
            nxt = _on_site(hop.location, host)
            if nxt is None:
                return Chain(tuple(hops), False)
            path, query = nxt
            canonical = canonical_path(path)
            if canonical in seen:
                return Chain(tuple(hops), True)
            seen.add(canonical)
            found = self.match(path, query)
            if found is None:
                return Chain(tuple(hops), False)
            hop = Hop(found.location, found.status, found.index)
            hops.append(hop)
        return Chain(tuple(hops), True)


def _on_site(location: str, host: str | None) -> tuple[str, str] | None:
    """The path and query a client would request next on this site, or None if it leaves."""
    if location.startswith("/"):
        path, _, query = location.partition("#")[0].partition("?")
        return path, query
    if host is None:
        return None
    url = urlsplit(location)
    if (url.hostname or "").lower() != host.lower().partition(":")[0]:
        return None
    return url.path or "/", url.query


def compile_rules(rules: Iterable[Rule]) -> CompiledRules:
    return CompiledRules(parse_rule(i, rule) for i, rule in enumerate(rules))
