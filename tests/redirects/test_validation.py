"""Write-time checks of a whole set, on the pure validator: each problem, and all at once."""

from __future__ import annotations

import pytest

from forge.redirects.engine import Rule
from forge.redirects.validation import MAX_RULES, Problem, check

OFF_SITE = "https://elsewhere.example.com/"


def _codes(rules: list[Rule]) -> list[tuple[int | None, str, str]]:
    return [(p.index, p.param, p.code) for p in check(rules).errors]


@pytest.mark.parametrize(
    ("rule", "param", "code"),
    [
        (Rule("blog", "/b"), "rules[1].from", "malformed"),
        (Rule("/a/*/b", "/b"), "rules[1].from", "malformed"),
        (Rule("/a?x=1", "/b"), "rules[1].from", "malformed"),
        (Rule("/a", "mailto:x@example.com"), "rules[1].to", "malformed"),
        (Rule("/a/:id", "/b/:other"), "rules[1].to", "malformed"),
        (Rule("/a", "/b", 303), "rules[1].status", "bad_status"),
        (Rule("/a", "/b", 200), "rules[1].status", "bad_status"),
        (Rule("/" + "a" * 2048, "/b"), "rules[1].from", "too_long"),
        (Rule("/a", "/" + "b" * 2048), "rules[1].to", "too_long"),
        (Rule("/a", "/b", 301, "c" * 501), "rules[1].comment", "too_long"),
        (Rule("/first/", "/b"), "rules[1].from", "duplicate"),
        (Rule("/x", "/x/"), "rules[1].to", "from_equals_to"),
        (Rule("/x", "/x?y=1"), "rules[1].to", "from_equals_to"),
        (Rule("/x/:a/*", "/x/:a/:splat"), "rules[1].to", "from_equals_to"),
    ],
)
def test_each_problem_is_named_with_its_rule_and_field(rule: Rule, param: str, code: str) -> None:
    assert _codes([Rule("/first", "/zz"), rule]) == [(1, param, code)]


def test_a_string_of_exactly_the_limit_is_fine() -> None:
    assert _codes([Rule("/" + "a" * 2047, "/" + "b" * 2047, 301, "c" * 500)]) == []


def test_a_rule_that_an_earlier_pattern_always_wins_over_is_shadowed() -> None:
    for earlier, later in [
        ("/blog/*", "/blog/post"),
        ("/blog/*", "/blog"),
        ("/blog/*", "/blog/:slug/*"),
        ("/:any", "/about"),
        ("/:a/:b", "/x/:c"),
        ("/*", "/anything/*"),
    ]:
        problems = check([Rule(earlier, OFF_SITE), Rule(later, OFF_SITE)]).errors
        assert [(p.index, p.code) for p in problems] == [(1, "shadowed")], (earlier, later)
        assert "rules[0].from" in problems[0].message


def test_a_rule_only_partly_covered_is_not_shadowed() -> None:
    for earlier, later in [
        ("/blog/post", "/blog/*"),
        ("/blog/:slug", "/blog/*"),
        ("/x/:a", "/:b/c"),
        ("/:a", "/b/c"),
        ("/a/:b/*", "/a/*"),
    ]:
        assert _codes([Rule(earlier, OFF_SITE), Rule(later, OFF_SITE)]) == [], (earlier, later)


def test_placeholder_names_do_not_make_a_pattern_new() -> None:
    assert _codes([Rule("/a/:x", "/t/:x"), Rule("/a/:y", "/u/:y")]) == [
        (1, "rules[1].from", "duplicate")
    ]


def test_a_loop_through_any_number_of_rules_is_an_error_on_each_of_them() -> None:
    rules = [Rule(f"/p{i}", f"/p{(i + 1) % 5}") for i in range(5)]
    assert _codes(rules) == [(i, f"rules[{i}].to", "loop") for i in range(5)]


def test_loops_through_trailing_slashes_and_patterns_are_found() -> None:
    assert _codes([Rule("/a", "/b/"), Rule("/b", "/a/")]) == [
        (0, "rules[0].to", "loop"),
        (1, "rules[1].to", "loop"),
    ]
    assert _codes([Rule("/a/*", "/b/:splat"), Rule("/b/*", "/a/:splat")]) == [
        (0, "rules[0].to", "loop"),
        (1, "rules[1].to", "loop"),
    ]
    # A target its own pattern matches again grows forever: a loop, too.
    assert _codes([Rule("/d/*", "/d/e/:splat")]) == [(0, "rules[0].to", "loop")]


def test_a_target_that_multiplies_its_path_is_a_loop_found_without_building_it() -> None:
    # Each hop triples the path: 3^20 times its length after 20 hops, had the walk followed it.
    assert _codes([Rule("/*", "/:splat/x/:splat/:splat")]) == [(0, "rules[0].to", "loop")]
    # Growing through two rules, each doubling what the other sends.
    assert _codes([Rule("/a/*", "/b/:splat/:splat"), Rule("/b/*", "/a/:splat/:splat")]) == [
        (0, "rules[0].to", "loop"),
        (1, "rules[1].to", "loop"),
    ]


def test_a_pattern_whose_target_normalises_back_to_its_source_is_a_loop() -> None:
    # `/a0` -> `/a0///`, which is `/a0` again once its trailing slashes are normalised.
    assert _codes([Rule("/a0/*", "/a0/:splat/:splat/:splat")]) == [(0, "rules[0].to", "loop")]


def test_a_loop_that_needs_a_particular_value_is_found_from_the_exact_rule() -> None:
    problems = _codes([Rule("/a/:id", "/b/:id"), Rule("/b/x", "/a/x")])
    assert (1, "rules[1].to", "loop") in problems


def test_an_off_site_target_ends_a_chain() -> None:
    assert _codes([Rule("/a", "https://example.com/a"), Rule("/b", "http://example.com/b")]) == []


def test_chains_are_warnings_naming_every_hop() -> None:
    report = check([Rule("/a", "/b"), Rule("/b", "/c"), Rule("/c", "/d")])
    assert report.errors == []
    assert [(p.index, p.param, p.code) for p in report.warnings] == [
        (0, "rules[0].to", "chain"),
        (1, "rules[1].to", "chain"),
    ]
    assert "rules[0] → rules[1] → rules[2]" in report.warnings[0].message
    assert report.compiled is not None


def test_every_problem_of_a_set_is_reported_at_once_in_rule_order() -> None:
    rules = [
        Rule("/ok", "/fine"),
        Rule("nope", "/x", 200),
        Rule("/ok/", "/other"),
        Rule("/same", "/same"),
        Rule("/loop1", "/loop2"),
        Rule("/loop2", "/loop1"),
        Rule("/long", "/" + "x" * 3000),
    ]
    assert _codes(rules) == [
        (1, "rules[1].from", "malformed"),
        (1, "rules[1].status", "bad_status"),
        (2, "rules[2].from", "duplicate"),
        (3, "rules[3].to", "from_equals_to"),
        (4, "rules[4].to", "loop"),
        (5, "rules[5].to", "loop"),
        (6, "rules[6].to", "too_long"),
    ]
    assert check(rules).compiled is None


def test_more_than_the_rule_limit_is_one_problem_naming_the_limit() -> None:
    rules = [Rule(f"/r{i}", "/t") for i in range(MAX_RULES + 1)]
    [problem] = check(rules).errors
    assert problem == Problem(None, "rules", "too_many_rules", problem.message)
    assert "100,000" in problem.message


def test_an_empty_set_is_valid() -> None:
    report = check([])
    assert (report.errors, report.warnings) == ([], [])
