"""Write-time checks of a whole rule set: every problem at once, each with its rule and field.

Pure: no HTTP, no database. Errors refuse the set; warnings (chains) are answered with it.
Loops and chains are found by following each rule's target through the compiled set exactly
as the edge would, starting from a path its `from` matches: `:name` bound to a segment no rule
names literally, `:splat` empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from forge.redirects.engine import (
    MAX_HOPS,
    Chain,
    CompiledRules,
    Hop,
    Parsed,
    Rule,
    location,
)
from forge.redirects.syntax import (
    SPLAT,
    RuleSyntaxError,
    Segment,
    Source,
    canonical_path,
    parse_source,
    parse_target,
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


def _parse(index: int, rule: Rule, long: set[str]) -> tuple[Parsed | None, list[Problem]]:
    """The rule parsed, or the syntax problems of its `from` and `to` (each reported once)."""
    found: list[Problem] = []
    source: Source | None = None
    if "from" not in long:
        try:
            source = parse_source(rule.source)
        except RuleSyntaxError as err:
            found.append(_problem(index, "from", "malformed", err.message))
    if "to" not in long:
        try:
            target = parse_target(rule.target, source.names if source else None)
        except RuleSyntaxError as err:
            found.append(_problem(index, "to", "malformed", err.message))
        else:
            if source is not None and not found:
                return Parsed(index, rule, source, target), []
    return None, found


def check(rules: Sequence[Rule]) -> Report:
    if len(rules) > MAX_RULES:
        message = f"A rule set holds at most {MAX_RULES:,} rules; this one has {len(rules):,}."
        return Report([Problem(None, "rules", "too_many_rules", message)], [], None)
    errors: list[Problem] = []
    parsed: list[Parsed] = []
    for index, rule in enumerate(rules):
        fields = _field_problems(index, rule)
        long = {p.param.rsplit(".", 1)[1] for p in fields if p.code == "too_long"}
        item, syntax = _parse(index, rule, long)
        errors += fields + syntax
        if item is not None:
            parsed.append(item)
    compiled = CompiledRules(parsed)
    set_errors, warnings = _set_problems(compiled, parsed)
    errors = sorted(errors + set_errors, key=lambda p: (p.index or 0, p.param))
    return Report(errors, warnings, None if errors else compiled)


def _set_problems(
    compiled: CompiledRules, parsed: list[Parsed]
) -> tuple[list[Problem], list[Problem]]:
    errors: list[Problem] = []
    warnings: list[Problem] = []
    first_of: dict[tuple[Segment, ...], int] = {}
    sample = _sample_segment(parsed)
    for item in parsed:
        i, source = item.index, item.source
        earlier = first_of.setdefault(source.shape(), i)
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
                    f"Never matches: rules[{cover}].from ({compiled.parsed(cover).rule.source})"
                    " matches every path this one does, and comes first.",
                )
            )
            continue
        if target_as_source(item.target) == source:
            errors.append(_problem(i, "to", "from_equals_to", "`to` is the same as `from`."))
            continue
        problem = _walk(compiled, item, sample)
        if problem is not None:
            (errors if problem.code == "loop" else warnings).append(problem)
    return errors, warnings


def _shadowed_by(compiled: CompiledRules, item: Parsed) -> int | None:
    source = item.source
    if source.exact:
        first, _ = compiled.first_index(source.path())
    else:
        first = compiled.first_covering(source, item.index)
    return first if first < item.index else None


def _sample_segment(parsed: list[Parsed]) -> str:
    literals = {value for p in parsed for kind, value in p.source.segments if kind == ""}
    sample, n = "forge-sample", 0
    while sample in literals:
        n += 1
        sample = f"forge-sample-{n}"
    return sample


def _walk(compiled: CompiledRules, item: Parsed, sample: str) -> Problem | None:
    """A loop (error) or a chain (warning) starting with this rule, else None."""
    source = item.source
    segments = [sample if kind == ":" else value for kind, value in source.segments]
    bound = {value: sample for kind, value in source.segments if kind == ":"}
    if source.wildcard:
        bound[SPLAT] = ""
    start = canonical_path("/" + "/".join(segments))
    first = Hop(location(item, bound, ""), item.rule.status, item.index)
    chain = compiled.follow(start, first, None)
    if len(chain.hops) == 1:
        return None
    route = _route(chain)
    if chain.loop and _loops_back(chain, start, item.index):
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


def _loops_back(chain: Chain, start: str, index: int) -> bool:
    """The loop includes this rule: its start is revisited, or it applies again."""
    if any(hop.index == index for hop in chain.hops[1:]):
        return True
    return any(
        hop.location.startswith("/")
        and canonical_path(hop.location.partition("#")[0].partition("?")[0]) == start
        for hop in chain.hops
    )


__all__ = ["MAX_RULES", "Problem", "Report", "check"]
