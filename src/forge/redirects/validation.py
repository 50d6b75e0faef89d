"""Write-time checks of a whole rule set: every problem at once, each with its rule and field.

Pure: no HTTP, no database. Errors refuse the set; warnings (chains) are answered with it.
Loops and chains are found by following each rule's target through the compiled set exactly
as the edge would, starting from a path its `from` matches: `:name` bound to a segment no rule
names literally, `:splat` empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from forge.redirects.engine import (
    MAX_HOPS,
    MAX_LOCATION,
    Chain,
    CompiledRules,
    Exact,
    Hop,
    Parsed,
    Rule,
    next_request,
    paused_gc,
    plain_exact,
    site_hosts,
)
from forge.redirects.syntax import (
    Parser,
    RuleSyntaxError,
    Segment,
    Source,
    Target,
    canonical_path,
    parse_source,
    target_as_source,
)

MAX_RULES = 100_000
MAX_URL_CHARS = 2048
MAX_COMMENT_CHARS = 500
STATUSES = (301, 302, 307, 308)


@dataclass(frozen=True, slots=True)
class Problem:
    index: int | None
    param: str
    code: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "param": self.param,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class Report:
    errors: list[Problem]
    warnings: list[Problem]
    compiled: CompiledRules | None  # the set, compiled, when it has no errors


def _problem(index: int, field: str, code: str, message: str) -> Problem:
    return Problem(index, f"rules[{index}].{field}", code, message)


def _field_problems(index: int, rule: Rule) -> list[Problem]:
    comment = rule.comment
    if (
        len(rule.source) <= MAX_URL_CHARS
        and len(rule.target) <= MAX_URL_CHARS
        and (comment is None or len(comment) <= MAX_COMMENT_CHARS)
        and rule.status in STATUSES
    ):
        return []  # the common case, at once
    found = []
    for field, text, limit in (
        ("from", rule.source, MAX_URL_CHARS),
        ("to", rule.target, MAX_URL_CHARS),
        ("comment", rule.comment or "", MAX_COMMENT_CHARS),
    ):
        if len(text) > limit:
            found.append(
                _problem(index, field, "too_long", f"`{field}` is over {limit:,} characters.")
            )
    if rule.status not in STATUSES:
        found.append(
            _problem(index, "status", "bad_status", "`status` must be 301, 302, 307 or 308.")
        )
    return found


# Stands in for a `to` too broken to parse: such a rule still takes part in the checks of
# sources (duplicates, shadowing), never in the walks of targets.
_BROKEN_TARGET = Target("", ("",), ("",), "")


def _parse(
    index: int, rule: Rule, long: set[str], parser: Parser
) -> tuple[Parsed | None, bool, list[Problem]]:
    """The rule parsed (its `to` possibly broken), whether its `to` parsed, and the syntax
    problems of its `from` and `to` (each field reported once)."""
    found: list[Problem] = []
    source: Source | None = None
    target: Target | None = None
    if "from" not in long:
        try:
            source = parse_source(rule.source)
        except RuleSyntaxError as err:
            found.append(_problem(index, "from", "malformed", err.message))
    if "to" not in long:
        try:
            target = parser.target(rule.target, source.names if source else None)
        except RuleSyntaxError as err:
            found.append(_problem(index, "to", "malformed", err.message))
    if source is None:
        return None, False, found
    return Parsed(index, rule, source, target or _BROKEN_TARGET), target is not None, found


def check(rules: Sequence[Rule], hosts: Iterable[str] = ()) -> Report:
    """`hosts`: the environment's own host names (an absolute `to` on one stays on site)."""
    with paused_gc():
        return _check(rules, hosts)


# A rule as checked: an `Exact` (a plain literal `from` to a plain path, not parsed: see
# `engine.plain_exact`), else parsed.
Item = Parsed | Exact


def _check(rules: Sequence[Rule], hosts: Iterable[str]) -> Report:
    if len(rules) > MAX_RULES:
        message = f"A rule set holds at most {MAX_RULES:,} rules; this one has {len(rules):,}."
        return Report([Problem(None, "rules", "too_many_rules", message)], [], None)
    parser = Parser()
    errors: list[Problem] = []
    sourced: list[Item] = []
    broken: set[int] = set()  # rules whose `from` parsed and `to` did not
    for index, rule in enumerate(rules):
        fields = _field_problems(index, rule)
        exact = None if fields else plain_exact(index, rule)
        if exact is not None:
            sourced.append(exact)
            continue
        long = {p.param.rsplit(".", 1)[1] for p in fields if p.code == "too_long"}
        item, target_ok, syntax = _parse(index, rule, long, parser)
        errors += fields + syntax
        if item is not None:
            sourced.append(item)
            if not target_ok:
                broken.add(item.index)
    by_source = CompiledRules(sourced)
    complete = [item for item in sourced if item.index not in broken] if broken else sourced
    compiled = CompiledRules(complete) if broken else by_source
    set_errors = _source_problems(by_source, sourced)
    skip = {p.index for p in set_errors}
    target_errors, warnings = _target_problems(
        site_hosts(*hosts), compiled, [p for p in complete if p.index not in skip]
    )
    errors = sorted(errors + set_errors + target_errors, key=lambda p: (p.index or 0, p.param))
    return Report(errors, warnings, None if errors else compiled)


def _source_problems(compiled: CompiledRules, parsed: list[Item]) -> list[Problem]:
    """Duplicates and shadowed rules: sources that can never match."""
    errors: list[Problem] = []
    first_of: dict[str | tuple[Segment, ...], int] = {}
    for item in parsed:
        i = item.index
        earlier = first_of.setdefault(_source_key(item), i)
        if earlier != i:
            errors.append(
                _problem(i, "from", "duplicate", f"Same source as rules[{earlier}].from.")
            )
            continue
        cover = _shadowed_by(compiled, item)
        if cover is not None:
            errors.append(
                _problem(
                    i,
                    "from",
                    "shadowed",
                    f"Never matches: rules[{cover}].from ({compiled.rule(cover).source})"
                    " matches every path this one does, and comes first.",
                )
            )
    return errors


def _source_key(item: Item) -> str | tuple[Segment, ...]:
    """Equal for two sources that match the same paths."""
    if isinstance(item, Exact):
        return item.key
    source = item.source
    return source.key if source.exact else source.shape()


def _target_problems(
    hosts: frozenset[str], compiled: CompiledRules, parsed: list[Item]
) -> tuple[list[Problem], list[Problem]]:
    """`from == to` and loops (errors), chains (warnings), of rules that can match."""
    errors: list[Problem] = []
    warnings: list[Problem] = []
    sample = _sample_segment(parsed)
    for item in parsed:
        if _same_place(item):
            errors.append(
                _problem(item.index, "to", "from_equals_to", "`to` is the same as `from`.")
            )
            continue
        problem = _walk(compiled, item, sample, hosts)
        if problem is not None:
            (errors if problem.code == "loop" else warnings).append(problem)
    return errors, warnings


def _same_place(item: Item) -> bool:
    """`to` names the very source of `from` (trailing slash, encoding and query aside)."""
    if isinstance(item, Exact):
        return canonical_path(item.location) == item.key
    target, source = item.target, item.source
    if not target.on_site:
        return False
    if len(target.path) == 1:  # no placeholder: only an exact source can be the same
        return source.exact and canonical_path(target.path[0]) == source.key
    return target_as_source(target) == source


def _shadowed_by(compiled: CompiledRules, item: Item) -> int | None:
    if isinstance(item, Exact):
        first = compiled.first_at(item.key)
    elif item.source.exact:
        first = compiled.first_at(item.source.path())
    else:
        first = compiled.first_covering(item.source, item.index)
    return first if first < item.index else None


def _sample_segment(parsed: list[Item]) -> str:
    literals: set[str] = set()
    for item in parsed:
        if isinstance(item, Exact):
            literals.update(item.key.split("/"))  # its canonical segments (and "")
        else:
            literals.update([value for kind, value in item.source.segments if kind == ""])
    sample, n = "forge-sample", 0
    while sample in literals:
        n += 1
        sample = f"forge-sample-{n}"
    return sample


def _walk(
    compiled: CompiledRules, item: Item, sample: str, hosts: frozenset[str]
) -> Problem | None:
    """A loop (error) or a chain (warning) starting with this rule, else None."""
    if isinstance(item, Exact):
        start, answer = item.key, item.location  # its key is its one path, canonical
    else:
        segments = [sample if kind == ":" else value for kind, value in item.source.segments]
        start = canonical_path("/" + "/".join(segments))
        built = compiled.location_of(item, segments, MAX_LOCATION)
        if built is None:
            return None  # a client would not follow it: one hop, neither loop nor chain
        answer = built
    first = Hop(answer, item.rule.status, item.index)
    chain = compiled.follow(start, first, hosts)
    if len(chain.hops) == 1 and not chain.loop:
        return None
    route = _route(chain)
    if chain.loop and _loops_back(chain, start, item.index, hosts):
        how = (
            f"Takes more than {MAX_HOPS} hops (browsers give up)"
            if len(chain.hops) > MAX_HOPS
            else "Leads back to its own source"
        )
        return _problem(item.index, "to", "loop", f"{how}: {route}.")
    return _problem(
        item.index,
        "to",
        "chain",
        f"Visitors follow {len(chain.hops)} redirects: {route}"
        + (", then a loop." if chain.loop else "."),
    )


def _route(chain: Chain) -> str:
    names = [f"rules[{hop.index}]" for hop in chain.hops]
    return " → ".join(names if len(names) <= 6 else [*names[:3], "…", names[-1]])


def _loops_back(chain: Chain, start: str, index: int, hosts: frozenset[str]) -> bool:
    """The loop includes this rule: its start is revisited, or it applies again."""
    if any(hop.index == index for hop in chain.hops[1:]):
        return True
    for hop in chain.hops:
        nxt = next_request(hop.location, hosts)
        if nxt is not None and canonical_path(nxt[0]) == start:
            return True
    return False


__all__ = ["MAX_RULES", "Problem", "Report", "check"]
