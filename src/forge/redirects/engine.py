"""The redirect matching engine: compile a rule set once, answer `match(path, query)` fast.

Pure: no HTTP, no database. The API answers its test call with it and the edge answers real
traffic with it, so both always agree. Public API (stable):

    Rule(source, target, status=301, comment=None)      frozen; `source` is `from`, `target` `to`
    compile_rules(rules) -> CompiledRules               raises InvalidRule(index, field, message)
    CompiledRules.match(path, query="") -> Match | None
        `path` as sent on the wire (percent-encoded, e.g. ASGI `raw_path` decoded as latin-1),
        `query` without its "?". Match(index, status, location), and `Match.rule`.
    CompiledRules.chain(path, query="", host=None, hosts=()) -> Chain
        every hop a client would follow, Chain(hops=(Hop(location, status, index), ...), loop);
        an absolute `to` is followed only when its host is `host` or one of `hosts`; the chain
        ends before a hop over MAX_LOCATION characters, which is never built (a loop when its
        rule is already in the chain).
    CompiledRules.bounded_match(path, query, limit) -> Match | TooLong | None
        `match`, but a location that could be over `limit` characters is TooLong(index), and
        is never built.
    CompiledRules.rules, len(CompiledRules), MAX_HOPS, MAX_LOCATION

Semantics (docs/redirects.md): path only; first match in list order; trailing slashes and
percent-encoding normalised, case-sensitive; a trailing `/*` matches the prefix and all below
it, carried into `to` as `:splat`; `:name` matches one non-empty segment; the incoming query is
kept and merged with the target's (the target's keys win).

Exact sources live in a hash map; patterns in a segment trie whose nodes remember the lowest
rule index below them, so a match costs O(path length) whatever the number of rules while the
first matching rule in list order still wins.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from forge.redirects.syntax import (
    SPLAT,
    Parser,
    RuleSyntaxError,
    Source,
    Target,
    Template,
    canonical_path,
    is_plain_target,
    merge_query,
    parse_source,
    parse_target,
    plain_exact_key,
    safe_query,
    split_segments,
)

__all__ = [
    "MAX_HOPS",
    "MAX_LOCATION",
    "Chain",
    "CompiledRules",
    "Hop",
    "InvalidRule",
    "Match",
    "Rule",
    "TooLong",
    "compile_rules",
]

MAX_HOPS = 20  # browsers give up after 20 redirects
# No hop over this length is followed or built: no server takes a request line that long (ours
# answer 414), and a target that repeats a placeholder grows its path several-fold at every hop
# (`/* -> /:splat/x/:splat/:splat` triples it: 3^20 times after 20 hops).
MAX_LOCATION = 8192
NO_RULE = 1 << 62  # larger than any index


@dataclass(frozen=True, slots=True)
class Rule:
    source: str
    target: str
    status: int = 301
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    index: int
    status: int
    location: str
    # The set's rules by index: a hit references this one shared map rather than its own cold
    # Rule (at 100,000 rules, one cache miss fewer per hit), and `rule` looks it up when asked.
    rules: Mapping[int, Rule] = field(repr=False, compare=False)

    @property
    def rule(self) -> Rule:
        return self.rules[self.index]


@dataclass(frozen=True, slots=True)
class Hop:
    location: str
    status: int
    index: int


@dataclass(frozen=True, slots=True)
class Chain:
    hops: tuple[Hop, ...]
    loop: bool


@dataclass(frozen=True, slots=True)
class TooLong:
    """A match whose location would be over the limit asked for: not built."""

    index: int


class InvalidRule(ValueError):
    def __init__(self, index: int, field: str, message: str) -> None:
        super().__init__(f"rules[{index}].{field}: {message}")
        self.index, self.field, self.message = index, field, message


@dataclass(slots=True)
class Parsed:
    """One rule with its parsed `from` and `to`, at its index in the set."""

    index: int
    rule: Rule
    source: Source
    target: Target


def parse_rule(index: int, rule: Rule, parser: Parser | None = None) -> Parsed:
    try:
        source = parse_source(rule.source)
        names = source.names
        target = (
            parse_target(rule.target, names)
            if parser is None
            else parser.target(rule.target, names)
        )
        return Parsed(index, rule, source, target)
    except RuleSyntaxError as err:
        raise InvalidRule(index, err.field, err.message) from None


@dataclass(slots=True)
class Exact:
    """An exact rule as the engine keeps it: the one path it takes and its answer's Location."""

    index: int
    rule: Rule
    key: str
    location: str


def plain_exact(index: int, rule: Rule) -> Exact | None:
    """A plain literal `from` to a plain path (most rules of a large set), ready without a
    parse: the engine keeps only its key and Location, and a compiled set of 100,000 rules
    holds a third of the objects it would (less to build, and less for the cyclic collector
    to scan once the set is built). None for any other rule."""
    key = plain_exact_key(rule.source)
    if key is not None and is_plain_target(rule.target):
        return Exact(index, rule, key, rule.target)
    return None


def prepare_rule(index: int, rule: Rule, parser: Parser | None = None) -> Parsed | Exact:
    """A rule ready to compile (see `plain_exact`), else parsed."""
    return plain_exact(index, rule) or parse_rule(index, rule, parser)


# Most nodes of a large trie are leaves: they share this one (never written) empty map rather
# than each holding its own, so a match does not touch a cold dict at every leaf it visits.
_LEAF: dict[str, _Node] = {}


class _Node:
    __slots__ = ("children", "end", "end_at", "lowest", "param", "star", "star_at")

    def __init__(self, lowest: int = NO_RULE) -> None:
        self.children = _LEAF
        self.param: _Node | None = None
        self.end = NO_RULE  # lowest rule whose segments end here, without a wildcard
        self.star = NO_RULE  # lowest rule with these segments and a trailing /*
        self.lowest = lowest  # lowest rule anywhere at or below this node
        # The compiled patterns of `end` and `star`, held here so that a hit reads no table.
        self.end_at: _Pattern | None = None
        self.star_at: _Pattern | None = None


class _Trie:
    def __init__(self) -> None:
        self.root = _Node()

    def add(self, parsed: Parsed, pattern: _Pattern) -> None:
        node, index = self.root, parsed.index
        if index < node.lowest:
            node.lowest = index
        for kind, value in parsed.source.segments:
            if kind:  # ":"
                child = node.param
                if child is None:
                    child = node.param = _Node(index)
            else:
                children = node.children
                if children is _LEAF:
                    children = node.children = {}
                child = children.get(value)
                if child is None:
                    child = children[value] = _Node(index)
            node = child
            if index < node.lowest:
                node.lowest = index
        if parsed.source.wildcard:
            if index < node.star:
                node.star, node.star_at = index, pattern
        elif index < node.end:
            node.end, node.end_at = index, pattern

    def cannot_beat(self, canonical: str, index: int) -> bool:
        """True when, judging by the first segment alone, no pattern below `index` can match
        (so an exact hit stands without a search)."""
        root = self.root
        if root.star < index or (root.param is not None and root.param.lowest < index):
            return False
        child = root.children.get(canonical[1:].partition("/")[0])
        return child is None or child.lowest >= index

    def first(self, segments: list[str], below: int) -> tuple[int, _Pattern | None]:
        """The lowest index below `below` of a pattern matching `segments` and that pattern,
        else `below` and None."""
        best, found, count = below, None, len(segments)
        stack = [(self.root, 0)]
        while stack:
            node, depth = stack.pop()
            if node.lowest >= best:
                continue
            if node.star < best:
                best, found = node.star, node.star_at
            if depth == count:
                if node.end < best:
                    best, found = node.end, node.end_at
                continue
            segment = segments[depth]
            child = node.children.get(segment)
            if child is not None and child.lowest < best:
                stack.append((child, depth + 1))
            if node.param is not None and segment and node.param.lowest < best:
                stack.append((node.param, depth + 1))
        return best, found

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


# A compiled template: literal text, and for each placeholder the position of the path segment
# that fills it (SPLAT_AT for what a trailing /* matched). Rendering indexes the request's
# segments directly, with no per-request map of names.
Recipe = tuple[str | int, ...]
SPLAT_AT = -1


def _recipe(template: Template, positions: dict[str, int]) -> Recipe:
    return tuple(
        positions[part] if i % 2 else part for i, part in enumerate(template) if part or i % 2
    )


def _render(recipe: Recipe, segments: list[str], splat: str) -> str:
    if len(recipe) == 1 and isinstance(recipe[0], str):
        return recipe[0]
    return "".join(
        part if isinstance(part, str) else segments[part] if part >= 0 else splat for part in recipe
    )


def _length(text: str, recipe: Recipe, segments: list[str], splat: int) -> int:
    """The length of `text` followed by `recipe` rendered."""
    return len(text) + sum(
        len(part) if isinstance(part, str) else len(segments[part]) if part >= 0 else splat
        for part in recipe
    )


class _Shared:
    """One copy of every equal string and recipe of a compiled set. Large sets repeat a few
    target shapes thousands of times; sharing them keeps a match's reads in a few hot objects
    rather than in cold per-rule copies (and the set smaller). The recipe of a template (a
    parsed `to`, itself shared by `Parser`) is made once per placement of its placeholders."""

    def __init__(self) -> None:
        self._texts: dict[str, str] = {}
        self._recipes: dict[Recipe, Recipe] = {}
        self._made: dict[tuple[Template, tuple[int, ...]], Recipe] = {}

    def recipe(self, template: Template, positions: dict[str, int]) -> Recipe:
        if len(template) == 1:
            key: tuple[Template, tuple[int, ...]] = (template, ())
        else:
            key = (template, tuple([positions[name] for name in template[1::2]]))
        made = self._made.get(key)
        if made is None:
            parts = tuple(
                p if isinstance(p, int) else self.text(p) for p in _recipe(template, positions)
            )
            made = self._made[key] = self._recipes.setdefault(parts, parts)
        return made

    def text(self, value: str) -> str:
        return self._texts.setdefault(value, value)


@dataclass(slots=True)
class _Pattern:
    """What a rule needs to answer a request: its target, compiled against where its
    placeholders sit in the path."""

    rules: Mapping[int, Rule]  # the set's, for its Match
    index: int
    status: int
    splat_from: int  # the first segment the splat takes, -1 without a wildcard
    origin: str
    path: Recipe
    query: Recipe
    fragment: str

    @classmethod
    def of(cls, parsed: Parsed, shared: _Shared, rules: Mapping[int, Rule]) -> _Pattern:
        source, target = parsed.source, parsed.target
        if len(target.path) == len(target.query) == 1:
            positions = _NO_POSITIONS  # no placeholder in `to`
        else:
            positions = {v: i for i, (kind, v) in enumerate(source.segments) if kind}
            positions[SPLAT] = SPLAT_AT
        return cls(
            rules,
            parsed.index,
            parsed.rule.status,
            len(source.segments) if source.wildcard else -1,
            shared.text(target.origin),
            shared.recipe(target.path, positions),
            shared.recipe(target.query, positions),
            shared.text(target.fragment),
        )

    def location(self, segments: list[str], query: str) -> str:
        """Where this rule sends a request for `segments` (a path its `from` matches)."""
        splat = "/".join(segments[self.splat_from :]) if self.splat_from >= 0 else ""
        path = _render(self.path, segments, splat)
        own = _render(self.query, segments, splat)
        merged = merge_query(own, safe_query(query)) if query else own
        return self.origin + path + ("?" + merged if merged else "") + self.fragment

    def length(self, segments: list[str], query: str) -> int:
        """At least the length of `location(segments, query)`, found without building it."""
        splat = 0
        if self.splat_from >= 0:
            rest = segments[self.splat_from :]
            splat = sum(map(len, rest)) + max(len(rest) - 1, 0)
        path = _length(self.origin, self.path, segments, splat) + len(self.fragment)
        own = _length("", self.query, segments, splat)
        if not (own or query):
            return path
        return path + 1 + own + len(query) + (1 if own and query else 0)  # "?", "&" if both

    def answer(self, segments: list[str], query: str) -> Match:
        return Match(self.index, self.status, self.location(segments, query), self.rules)


_NO_POSITIONS: dict[str, int] = {}


def fixed_location(target: Target) -> str:
    """The Location of a `to` without placeholders (that of every exact rule)."""
    query = target.query[0]
    return target.origin + target.path[0] + ("?" + query if query else "") + target.fragment


def _with_query(found: Match, query: str) -> Match:
    """An exact rule's prepared answer with the request's query merged in."""
    base, sharp, fragment = found.location.partition("#")
    base, _, own = base.partition("?")
    merged = merge_query(own, safe_query(query))
    location = f"{base}?{merged}{sharp}{fragment}"
    return Match(found.index, found.status, location, found.rules)


class CompiledRules:
    """A compiled rule set; immutable once built, safe to share between threads.

    An exact source's answer is decided at compile time: whether a pattern earlier in the list
    takes its path depends on the path alone. So `_exact` maps each path to the prepared answer
    of the rule that wins it, and a request for it costs one hash look-up."""

    def __init__(self, items: Iterable[Parsed | Exact]) -> None:
        """`items` in increasing index order. One pass: when an exact rule comes, the trie holds
        exactly the patterns before it, the only ones that could take its path."""
        self._rule_at: dict[int, Rule] = {}
        self._patterns: dict[int, _Pattern] = {}  # for validation: a match reads the trie's
        self._exact: dict[str, Match] = {}
        self._trie = trie = _Trie()
        rule_at, patterns, exact, root = self._rule_at, self._patterns, self._exact, trie.root
        shared = _Shared()
        last = -1
        for item in items:
            index, rule = item.index, item.rule
            if index <= last:
                raise ValueError("rules must come in increasing index order")
            last = index
            rule_at[index] = rule
            if isinstance(item, Exact):
                key, answer = item.key, item.location
            elif item.source.exact:
                key, answer = item.source.key, fixed_location(item.target)
            else:
                pattern = patterns[index] = _Pattern.of(item, shared, rule_at)
                trie.add(item, pattern)
                continue
            if key not in exact and (root.lowest > index or not self._pattern_wins(key, index)):
                exact[key] = Match(index, rule.status, answer, rule_at)
        self._first_pattern = root.lowest
        self.rules = tuple(rule_at.values())

    def _pattern_wins(self, canonical: str, index: int) -> bool:
        if self._trie.cannot_beat(canonical, index):
            return False
        return self._trie.first(split_segments(canonical), index)[0] < index

    def __len__(self) -> int:
        return len(self._rule_at)

    def first_index(self, canonical: str) -> tuple[int, list[str]]:
        """The index of the first rule matching a canonical path (or NO_RULE), and the
        path's segments."""
        hit = self._exact.get(canonical)
        segments = split_segments(canonical)
        if hit is not None:
            return hit.index, segments
        return self._trie.first(segments, NO_RULE)[0], segments

    def first_at(self, canonical: str) -> int:
        """The index of the first rule matching a canonical path, or NO_RULE."""
        hit = self._exact.get(canonical)
        if hit is not None:
            return hit.index
        return self._trie.first(split_segments(canonical), NO_RULE)[0]

    def first_covering(self, source: Source, below: int) -> int:
        return self._trie.first_covering(source, below)

    def location_of(self, parsed: Parsed, segments: list[str], limit: int) -> str | None:
        """Where `parsed`, a rule of this set, sends a request for `segments` (a path its `from`
        matches): its compiled pattern's answer, not compiled again; None (and not built) when
        it would be over `limit` characters."""
        pattern = self._patterns.get(parsed.index)
        if pattern is None or self._rule_at[parsed.index] is not parsed.rule:
            pattern = _Pattern.of(parsed, _Shared(), {parsed.index: parsed.rule})
        if pattern.length(segments, "") > limit:
            return None
        return pattern.location(segments, "")

    def rule(self, index: int) -> Rule:
        return self._rule_at[index]

    def match(self, path: str, query: str = "") -> Match | None:
        canonical = canonical_path(path)
        hit = self._exact.get(canonical)
        if hit is not None:
            return _with_query(hit, query) if query else hit
        if self._first_pattern == NO_RULE:
            return None
        segments = split_segments(canonical)
        pattern = self._trie.first(segments, NO_RULE)[1]
        return None if pattern is None else pattern.answer(segments, query)

    def bounded_match(self, path: str, query: str, limit: int) -> Match | TooLong | None:
        """`match`, except that a pattern's location that could be over `limit` characters (its
        length with the request's query added, not merged) is not built. An exact rule's is at
        most its `to` and `query`, so bounded by the request."""
        canonical = canonical_path(path)
        hit = self._exact.get(canonical)
        if hit is not None:
            return _with_query(hit, query) if query else hit
        segments = split_segments(canonical)
        pattern = self._trie.first(segments, NO_RULE)[1]
        if pattern is None:
            return None
        if pattern.length(segments, safe_query(query)) > limit:
            return TooLong(pattern.index)
        return pattern.answer(segments, query)

    def chain(
        self, path: str, query: str = "", host: str | None = None, hosts: Iterable[str] = ()
    ) -> Chain:
        first = self.match(path, query)
        if first is None:
            return Chain((), False)
        hop = Hop(first.location, first.status, first.index)
        return self.follow(canonical_path(path), hop, site_hosts(host, *hosts))

    def follow(self, start: str, hop: Hop, hosts: frozenset[str]) -> Chain:
        """The chain from `start` (a canonical path) whose first hop is `hop`; an absolute
        target is followed when its host is one of `hosts` (see `site_hosts`)."""
        seen, hops = {start}, [hop]
        if len(hop.location) > MAX_LOCATION:
            return Chain((hop,), False)  # not requestable: a client stops here
        while len(hops) <= MAX_HOPS:
            nxt = next_request(hop.location, hosts)
            if nxt is None:
                return Chain(tuple(hops), False)
            path, query = nxt
            canonical = canonical_path(path)
            if canonical in seen:
                return Chain(tuple(hops), True)
            seen.add(canonical)
            found = self.bounded_match(path, query, MAX_LOCATION)
            if found is None:
                return Chain(tuple(hops), False)
            if isinstance(found, TooLong):
                # A path that grows at every hop (a target repeating `:splat`) would triple,
                # say, 20 times over; it ends here, a loop when a rule applied to its own output.
                return Chain(tuple(hops), any(h.index == found.index for h in hops))
            hop = Hop(found.location, found.status, found.index)
            hops.append(hop)
        return Chain(tuple(hops), True)


def site_hosts(*names: str | None) -> frozenset[str]:
    """Host names as compared: lower case, without a port."""
    return frozenset(n.lower().rpartition("@")[2].partition(":")[0] for n in names if n)


def next_request(location: str, hosts: frozenset[str]) -> tuple[str, str] | None:
    """The path and query a client would request next on this site, or None if it leaves."""
    if location.startswith("/"):
        path, _, query = location.partition("#")[0].partition("?")
        return path, query
    if not hosts:
        return None
    url = urlsplit(location)
    if (url.hostname or "") not in hosts:
        return None
    return url.path or "/", url.query


@contextmanager
def paused_gc() -> Iterator[None]:
    """Building 100,000 rules allocates ~1,000,000 small objects, none in a reference cycle:
    the cyclic collector would rescan the growing heap again and again for nothing (measured:
    a third of the compile time)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def compile_rules(rules: Iterable[Rule]) -> CompiledRules:
    parser = Parser()
    with paused_gc():
        return CompiledRules(prepare_rule(i, rule, parser) for i, rule in enumerate(rules))
