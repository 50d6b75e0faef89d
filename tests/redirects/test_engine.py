"""The matching semantics of docs/redirects.md, one by one, on the pure engine."""

from __future__ import annotations

import pytest

from forge.redirects.engine import MAX_HOPS, MAX_LOCATION, InvalidRule, Rule, TooLong, compile_rules


def _location(rules: list[Rule], path: str, query: str = "") -> str | None:
    found = compile_rules(rules).match(path, query)
    return found.location if found else None


def _index(rules: list[Rule], path: str) -> int | None:
    found = compile_rules(rules).match(path, "")
    return found.index if found else None


def test_only_the_path_selects_a_rule() -> None:
    rules = [Rule("/a", "/b")]
    assert _location(rules, "/a", "x=1") == "/b?x=1"
    assert _location(rules, "/ab") is None
    assert _location(rules, "/") is None


def test_the_first_matching_rule_in_list_order_wins() -> None:
    rules = [Rule("/blog/:slug", "/first"), Rule("/blog/*", "/second"), Rule("/blog/x", "/third")]
    assert _index(rules, "/blog/x") == 0
    assert _index(rules, "/blog/x/y") == 1
    # An exact source later in the list loses to an earlier pattern, and wins over a later one.
    assert _index([Rule("/blog/x", "/e"), Rule("/blog/*", "/p")], "/blog/x") == 0
    assert _index([Rule("/*", "/p"), Rule("/blog/x", "/e")], "/blog/x") == 0


def test_a_trailing_slash_is_normalised_and_the_root_stays_the_root() -> None:
    assert _location([Rule("/a", "/b")], "/a/") == "/b"
    assert _location([Rule("/a/", "/b")], "/a") == "/b"
    assert _location([Rule("/", "/home")], "/") == "/home"
    assert _location([Rule("/", "/home")], "/a") is None


def test_matching_is_case_sensitive() -> None:
    assert _location([Rule("/About", "/b")], "/about") is None
    assert _location([Rule("/About", "/b")], "/About") == "/b"


def test_percent_encoding_is_normalised_before_matching() -> None:
    rules = [Rule("/café", "/coffee"), Rule("/a%2Fb", "/slash"), Rule("/x%20y", "/space")]
    assert _location(rules, "/caf%C3%A9") == "/coffee"
    assert _location(rules, "/caf%c3%a9") == "/coffee"
    assert _location([Rule("/%7Euser", "/u")], "/~user") == "/u"
    # An encoded slash stays a character of its segment, never a separator.
    assert _location(rules, "/a%2fb") == "/slash"
    assert _location(rules, "/a/b") is None
    assert _location(rules, "/x%20y") == "/space"
    assert _location(rules, "/x y") == "/space"


def test_a_splat_matches_the_prefix_and_everything_below_it() -> None:
    rules = [Rule("/blog/*", "/news/:splat")]
    assert _location(rules, "/blog") == "/news/"
    assert _location(rules, "/blog/") == "/news/"
    assert _location(rules, "/blog/x/y") == "/news/x/y"
    assert _location(rules, "/blogs") is None
    assert _location([Rule("/*", "/new/:splat")], "/any/thing") == "/new/any/thing"


def test_named_segments_match_one_segment_and_are_substituted_by_name() -> None:
    rules = [Rule("/u/:id/posts/:post", "/users/:post/:id")]
    assert _location(rules, "/u/42/posts/7") == "/users/7/42"
    assert _location(rules, "/u/42/posts") is None
    assert _location(rules, "/u/42/posts/7/x") is None
    assert _location(rules, "/u//posts/7") is None  # an empty segment is no value
    # Values arrive in the canonical encoding, so the Location header stays a valid URL.
    assert _location([Rule("/p/:x", "/q/:x")], "/p/caf%c3%a9") == "/q/caf%C3%A9"


def test_the_incoming_query_is_kept_and_merged_and_the_target_query_wins() -> None:
    rules = [Rule("/a", "/b?lang=en&x=1")]
    assert _location(rules, "/a", "") == "/b?lang=en&x=1"
    assert _location(rules, "/a", "lang=fr&utm=9") == "/b?lang=en&x=1&utm=9"
    # Placeholders work in the target's query too.
    assert _location([Rule("/s/:id", "/store?item=:id")], "/s/5", "ref=x") == "/store?item=5&ref=x"


def test_a_query_the_url_cannot_carry_is_encoded_in_the_location() -> None:
    assert _location([Rule("/a", "/b")], "/a", 'q=a b"\r\n') == "/b?q=a%20b%22%0D%0A"


def test_a_target_with_non_ascii_characters_is_sent_percent_encoded() -> None:
    assert _location([Rule("/a", "/café?q=thé#über")], "/a") == "/caf%C3%A9?q=th%C3%A9#%C3%BCber"
    assert _location([Rule("/p/:x", "https://bücher.example/:x")], "/p/1") == (
        "https://xn--bcher-kva.example/1"
    )


def test_a_target_may_be_an_absolute_http_url() -> None:
    rules = [Rule("/old/*", "https://new.example.com:8443/:splat#top", 308)]
    found = compile_rules(rules).match("/old/a/b", "k=v")
    assert found is not None
    assert (found.status, found.location) == (308, "https://new.example.com:8443/a/b?k=v#top")


@pytest.mark.parametrize(
    ("source", "target", "field"),
    [
        ("blog", "/b", "from"),
        ("/a?x=1", "/b", "from"),
        ("/a#x", "/b", "from"),
        ("/a/*/b", "/b", "from"),
        ("/a*", "/b", "from"),
        ("/a/:", "/b", "from"),
        ("/a/:x/:x", "/b", "from"),
        ("/a/:splat", "/b", "from"),
        ("/a b", "/b", "from"),
        ("/a%zz", "/b", "from"),
        ("/a", "b", "to"),
        ("/a", "//evil.example.com", "to"),
        ("/a", "ftp://x.example.com/", "to"),
        ("/a", "https://", "to"),
        ("/a", "https://user@x.example.com/", "to"),
        ("/a", "/b/:id", "to"),
        ("/a", "/b/:splat", "to"),
        ("/a", "", "to"),
    ],
)
def test_compiling_refuses_a_malformed_rule_naming_it(source: str, target: str, field: str) -> None:
    with pytest.raises(InvalidRule) as caught:
        compile_rules([Rule("/ok", "/fine"), Rule(source, target)])
    assert (caught.value.index, caught.value.field) == (1, field)


def test_a_chain_lists_every_hop() -> None:
    compiled = compile_rules([Rule("/a", "/b"), Rule("/b", "/c?x=1", 302), Rule("/c", "/d")])
    chain = compiled.chain("/a", "q=1")
    assert [(h.location, h.status, h.index) for h in chain.hops] == [
        ("/b?q=1", 301, 0),
        ("/c?x=1&q=1", 302, 1),
        ("/d?x=1&q=1", 301, 2),
    ]
    assert chain.loop is False
    assert compiled.chain("/zzz").hops == ()


def test_a_chain_follows_an_absolute_target_only_on_the_same_host() -> None:
    compiled = compile_rules([Rule("/a", "https://www.example.com/b"), Rule("/b", "/c")])
    assert len(compiled.chain("/a", "", host="www.example.com").hops) == 2
    assert len(compiled.chain("/a", "", host="WWW.example.com:443").hops) == 2
    assert len(compiled.chain("/a", "", host="other.example.com").hops) == 1
    assert len(compiled.chain("/a").hops) == 1


def test_a_loop_is_flagged_when_a_path_comes_back() -> None:
    chain = compile_rules([Rule("/a", "/b"), Rule("/b/", "/a")]).chain("/a/")
    assert chain.loop is True
    assert [h.index for h in chain.hops] == [0, 1]


def test_an_endless_chain_stops_after_the_hop_limit_as_a_loop() -> None:
    chain = compile_rules([Rule("/d/*", "/d/e/:splat")]).chain("/d/x")
    assert chain.loop is True
    assert len(chain.hops) == MAX_HOPS + 1


def test_an_empty_set_matches_nothing() -> None:
    compiled = compile_rules([])
    assert compiled.match("/", "") is None
    assert len(compiled) == 0


def test_a_chain_ends_before_a_location_no_server_would_take() -> None:
    chain = compile_rules([Rule("/*", "/:splat/x/:splat/:splat")]).chain("/a/b")
    assert chain.loop is True
    assert [hop.index for hop in chain.hops] == [0] * 6  # 3^6 × /a/b is over 8,192
    assert all(len(hop.location) <= MAX_LOCATION for hop in chain.hops)


def test_a_chain_that_grows_through_another_rule_is_no_loop() -> None:
    compiled = compile_rules([Rule("/a/*", "/b/:splat/:splat"), Rule("/b/*", "/c/:splat")])
    chain = compiled.chain("/a/" + "x" * 5000)
    assert [hop.index for hop in chain.hops] == [0]
    assert chain.loop is False


def test_a_bounded_match_builds_no_location_over_its_limit() -> None:
    compiled = compile_rules([Rule("/a", "/b"), Rule("/p/*", "/q/:splat/:splat")])
    assert compiled.bounded_match("/p/xy", "", 9) == compiled.match("/p/xy")
    assert compiled.bounded_match("/p/xyz", "", 9) == TooLong(1)
    assert compiled.bounded_match("/p/xy", "k=v", 9) == TooLong(1)
    assert compiled.bounded_match("/a", "", 1) == compiled.match("/a")
    assert compiled.bounded_match("/nothing", "", 9) is None


def test_one_long_hop_ends_the_chain_without_a_loop() -> None:
    compiled = compile_rules([Rule("/a/*", "/b/:splat"), Rule("/b/*", "/c")])
    long_path = "/a/" + "x" * MAX_LOCATION
    chain = compiled.chain(long_path)
    assert [hop.index for hop in chain.hops] == [0]
    assert chain.loop is False
