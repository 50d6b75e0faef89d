"""The scope catalogue: every scope a seed names, `resource:action`, presets, role ceilings."""

from __future__ import annotations

import pytest

from forge.keys import scopes as catalogue

SEED_SCOPES = {
    "keys:write",
    "sites:read",
    "deployments:write",
    "environments:write",
    "jobs:read",
    "secrets:set-value",
    "audit:read",
    "teams:read",
    "sites:write",
    "environments:read",
}


def test_every_scope_a_seed_names_is_in_the_catalogue() -> None:
    assert SEED_SCOPES <= catalogue.ALL_SCOPES


def test_scopes_are_resource_colon_action() -> None:
    for scope in catalogue.ALL_SCOPES:
        resource, _, action = scope.partition(":")
        assert resource and action, scope


def test_presets_expand_to_catalogue_scopes() -> None:
    for name in catalogue.PRESETS:
        expanded = catalogue.expand(name)
        assert expanded == sorted(set(expanded)) and set(expanded) <= catalogue.ALL_SCOPES


def test_unknown_scopes_and_presets_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="sites:delete"):
        catalogue.expand(["sites:read", "sites:delete"])
    with pytest.raises(ValueError, match="everything"):
        catalogue.expand("everything")


def test_roles_are_nested_and_only_owners_set_secret_values() -> None:
    rights = catalogue.ROLE_RIGHTS
    assert rights["viewer"] < rights["member"] < rights["admin"] < rights["owner"]
    assert "secrets:set-value" in rights["owner"]
    assert "secrets:set-value" not in catalogue.TEAM_PRINCIPAL_RIGHTS
    assert not any(s.endswith((":write", ":set-value")) for s in rights["viewer"])
