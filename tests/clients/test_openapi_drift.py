"""The SDK against `/v1/openapi.json` of the running code: every route it calls exists with
that method, every argument is a parameter or body field of the route, every model has
exactly its schema's fields (names, required-ness, JSON types), and every /v1 operation has
an SDK method. A change on either side that the other does not follow fails here."""

from __future__ import annotations

import inspect
import re
from typing import Any

import pytest
from fastapi import FastAPI

import forge_sdk
from forge_sdk import models
from forge_sdk._endpoints import ROUTES, Route
from forge_sdk.resources import Resources

# Areas whose branches have not landed on main yet: their routes may be absent, all together.
PENDING: set[str] = set()

# Operations the SDK leaves out on purpose: the GitHub partner webhook, and two surfaces kept
# for the seeds' own clients (seed 002's slug paths, seed 001's clear-cache) whose /v1
# equivalents the SDK covers.
NOT_IN_SDK = re.compile(r"^/(v1/secret-scanning/github|healthz|readyz|api/v1/clear-cache|\{o\}/)")

# SDK argument → API parameter, where Python names differ from the API's.
ARGUMENT_NAMES = {
    "soft": "mode",
    "with_env": "with",
    "if_match": "If-Match",
    "idempotency_key": "Idempotency-Key",
}


def _area(path: str) -> str | None:
    for area, marker in (("redirects", "/redirects"), ("cache", "/cache"), ("jobs", "/v1/jobs")):
        if marker in path:
            return area
    return None


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from forge.app import create_app
    from forge.config import load_settings

    settings = load_settings({"FORGE_DATA_DIR": str(tmp_path_factory.mktemp("openapi"))})
    app: FastAPI = create_app(settings)
    return app.openapi()


def _ref(schema: dict[str, Any]) -> str | None:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    for option in schema.get("anyOf", []):
        if (name := _ref(option)) is not None:
            return name
    return None


def _operation(document: dict[str, Any], route: Route) -> dict[str, Any] | None:
    operation: dict[str, Any] | None = (
        document["paths"].get(route.path, {}).get(route.method.lower())
    )
    return operation


def _data_schema(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    status = next(code for code in operation["responses"] if code.startswith("2"))
    envelope = _ref(operation["responses"][status]["content"]["application/json"]["schema"])
    assert envelope is not None
    data: dict[str, Any] = document["components"]["schemas"][envelope]["properties"]["data"]
    return data


def _live_routes(document: dict[str, Any]) -> list[Route]:
    present = [route for route in ROUTES if _operation(document, route) is not None]
    for route in ROUTES:
        if route in present:
            continue
        assert _area(route.path) in PENDING, f"{route.method} {route.path} is not in the API"
    return present


def test_the_pinned_version_is_the_api_version(document: dict[str, Any]) -> None:
    assert document["info"]["version"] == forge_sdk.FORGE_VERSION


def test_pending_areas_are_absent_as_a_whole(document: dict[str, Any]) -> None:
    """Once an area lands, it must leave PENDING so that everything below checks it."""
    landed = {_area(path) for path in document["paths"]} & PENDING
    assert not landed, f"{landed} are in the API now: remove them from PENDING"


def test_every_sdk_route_exists_and_answers_its_model(document: dict[str, Any]) -> None:
    for route in _live_routes(document):
        operation = _operation(document, route)
        assert operation is not None
        data = _data_schema(document, operation)
        if route.kind == "paged":
            assert data.get("type") == "array", route
            data = data["items"]
        assert route.model is not None
        model: type[models.ForgeModel] = getattr(models, route.model)
        assert _ref(data) == model.__schema__, (route, _ref(data), model.__schema__)


def test_every_v1_operation_has_an_sdk_method(document: dict[str, Any]) -> None:
    covered = {(route.method, route.path) for route in ROUTES}
    missing = [
        f"{method.upper()} {path}"
        for path, operations in document["paths"].items()
        if not NOT_IN_SDK.match(path)
        for method in operations
        if (method.upper(), path) not in covered
    ]
    assert missing == []


def _api_names(document: dict[str, Any], operation: dict[str, Any]) -> set[str]:
    names = {p["name"] for p in operation.get("parameters", [])}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        ref = _ref(body["schema"])
        assert ref is not None
        names |= set(document["components"]["schemas"][ref].get("properties", {}))
    return names


def _endpoints() -> list[tuple[Any, str]]:
    found = []
    for name, annotation in inspect.get_annotations(Resources).items():
        resource = annotation.split("[")[0]
        cls = getattr(__import__("forge_sdk.resources", fromlist=[resource]), resource)
        for attr in vars(cls).values():
            if hasattr(attr, "route"):
                found.append((attr, name))
    return found


def test_every_argument_is_a_parameter_or_body_field(document: dict[str, Any]) -> None:
    live = set(_live_routes(document))
    checked = 0
    for endpoint, _ in _endpoints():
        if endpoint.route not in live:
            continue
        operation = _operation(document, endpoint.route)
        assert operation is not None
        accepted = _api_names(document, operation)
        arguments = list(inspect.signature(endpoint.build).parameters)[1:]
        for argument in arguments:
            name = ARGUMENT_NAMES.get(argument, argument)
            assert name in accepted, f"{endpoint.route.path}: {argument} is not in {accepted}"
        path_names = set(re.findall(r"\{(\w+)\}", endpoint.route.path))
        assert path_names <= set(arguments), endpoint.route
        checked += 1
    assert checked == len(live)


def _json_types(schema: dict[str, Any]) -> frozenset[str]:
    if "anyOf" in schema:
        return frozenset().union(*(_json_types(option) for option in schema["anyOf"]))
    if "$ref" in schema or "allOf" in schema:
        return frozenset({"object"})
    if "const" in schema and "type" not in schema:
        return frozenset({type(schema["const"]).__name__})
    kind = schema.get("type")
    if kind is None:
        return frozenset({"any"})
    return frozenset(kind if isinstance(kind, list) else [kind])


def _models() -> list[type[models.ForgeModel]]:
    return [
        obj
        for obj in vars(models).values()
        if isinstance(obj, type) and issubclass(obj, models.ForgeModel) and obj.__schema__
    ]


def test_every_model_has_exactly_its_schemas_fields(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    checked = 0
    for model in _models():
        if model.__schema__ not in schemas:
            assert model.__module__.endswith(".edge") and PENDING, model
            continue
        api = schemas[model.__schema__]
        ours = model.model_json_schema(by_alias=True, mode="serialization")
        assert set(ours["properties"]) == set(api["properties"]), model
        api_required = set(api.get("required", []))
        assert set(ours.get("required", [])) <= set(api.get("required", [])), model
        assert api_required - {k for k, v in api["properties"].items() if "default" in v} <= set(
            ours.get("required", [])
        ) | {k for k, v in ours["properties"].items() if "default" in v}, model
        for name, prop in api["properties"].items():
            theirs, mine = _json_types(prop), _json_types(ours["properties"][name])
            assert theirs <= mine | {"any"} or "any" in mine, (model, name, theirs, mine)
        checked += 1
    assert checked >= 25  # every model of an area on main
