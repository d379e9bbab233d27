"""The dashboard's OpenAPI fragments describe exactly the routes setup_dashboard adds."""

from __future__ import annotations

from pathlib import Path

from jsonschema import Draft202012Validator

from hub.config import HubConfig
from hub.server.app import create_app
from hub.server.dashboard import ADMIN_PATHS, DASHBOARD_PATHS, setup_dashboard
from hub.store import Store
from tests.hub.dashboard.support import document


def routes_of(app: object) -> set[tuple[str, str]]:
    return {
        (route.method, route.resource.canonical)
        for route in app.router.routes()  # type: ignore[attr-defined]
        if route.method != "HEAD" and route.resource is not None
    }


def documented(paths: dict[str, dict[str, object]]) -> set[tuple[str, str]]:
    return {(method.upper(), path) for path, ops in paths.items() for method in ops}


async def test_setup_serves_exactly_the_documented_routes(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'o.db'}")
    try:
        app = create_app(HubConfig(), store, run_clearing=False)
        setup_dashboard(app)
        served = routes_of(app)
        assert documented(DASHBOARD_PATHS) | documented(ADMIN_PATHS) <= served
        assert served == documented(document()["paths"])
        count = len(app.router.routes())
        setup_dashboard(app)  # idempotent (also once create_app calls it itself)
        assert len(app.router.routes()) == count
    finally:
        await store.close()


def test_fragment_schemas_are_valid_json_schema() -> None:
    doc = document()
    for fragment in (DASHBOARD_PATHS, ADMIN_PATHS):
        for path, operations in fragment.items():
            for method, operation in operations.items():
                for status, response in operation["responses"].items():
                    assert response["description"], (method, path, status)
                    for media in response.get("content", {}).values():
                        Draft202012Validator.check_schema(media["schema"])
                body = operation.get("requestBody")
                if body:
                    Draft202012Validator.check_schema(body["content"]["application/json"]["schema"])
                for requirement in operation.get("security", []):
                    assert set(requirement) <= set(doc["components"]["securitySchemes"])
