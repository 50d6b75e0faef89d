"""The compiled engine agrees with a naive first-match scan of the list, on random sets."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forge.redirects.engine import Match, Rule, TooLong, compile_rules

# Few distinct literals so random paths often hit random rules.
LITERALS = ["a", "b", "c", "%61", "A", "x-y"]
PATH_SEGMENTS = [*LITERALS, "", "zz", "%7A"]


def _decoded(segment: str) -> str:
    return {"%61": "a", "%7A": "z"}.get(segment, segment)


@st.composite
def sources(draw: st.DrawFn) -> str:
    parts = []
    for i in range(draw(st.integers(0, 3))):
        parts.append(f":p{i}" if draw(st.booleans()) else draw(st.sampled_from(LITERALS)))
    if draw(st.booleans()):
        parts.append("*")
    text = "/" + "/".join(parts)
    return text + "/" if draw(st.booleans()) and parts else text


rules_st = st.lists(
    st.builds(Rule, sources(), st.just("/to"), st.sampled_from([301, 302, 307, 308])),
    max_size=12,
)
paths_st = st.lists(st.sampled_from(PATH_SEGMENTS), max_size=4).map(
    lambda segs: "/" + "/".join(segs)
)


def _naive_matches(rule: Rule, path: str) -> bool:
    """Straight from the documented semantics, segment by segment."""
    want = [s for s in rule.source.strip("/").split("/") if s != ""] if rule.source != "/" else []
    wildcard = bool(want) and want[-1] == "*"
    if wildcard:
        want.pop()
    trimmed = path.rstrip("/")
    have = [_decoded(s) for s in trimmed[1:].split("/")] if trimmed else []
    if len(have) < len(want) or (not wildcard and len(have) != len(want)):
        return False
    for pattern, segment in zip(want, have, strict=False):
        if pattern.startswith(":"):
            if segment == "":
                return False
        elif _decoded(pattern) != segment:
            return False
    return True


def _naive_first(rules: list[Rule], path: str) -> int | None:
    return next((i for i, rule in enumerate(rules) if _naive_matches(rule, path)), None)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(rules_st, st.lists(paths_st, min_size=1, max_size=8))
def test_engine_agrees_with_a_linear_scan(rules: list[Rule], paths: list[str]) -> None:
    compiled = compile_rules(rules)
    for path in paths:
        found: Match | None = compiled.match(path, "")
        expected = _naive_first(rules, path)
        assert (found.index if found else None) == expected, (path, rules)


def _wildcard(source: str) -> str:
    trimmed = source.rstrip("/")
    return trimmed if trimmed.endswith("*") else trimmed + "/*"


growing_rules_st = st.lists(
    st.builds(
        Rule,
        sources().map(_wildcard),
        st.sampled_from(
            ["/t/:splat", "/t/:splat/x/:splat?k=:splat", "/t?y=1", "https://o.example/:splat#f"]
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(growing_rules_st, paths_st, st.sampled_from(["", "k=1", "a=b&k=2", "a b=ü&k"]))
def test_a_bounded_match_never_builds_a_location_over_its_limit(
    rules: list[Rule], path: str, query: str
) -> None:
    compiled = compile_rules(rules)
    found = compiled.match(path, query)
    assert compiled.bounded_match(path, query, 1 << 20) == found
    if found is not None:
        shorter = compiled.bounded_match(path, query, len(found.location) - 1)
        assert shorter == TooLong(found.index)
