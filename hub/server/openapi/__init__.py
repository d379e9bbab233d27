"""The OpenAPI 3.1 document served at /api/v1/openapi.json (a test checks it matches the routes).

Assembled from one module per part of the API: `public` (anyone), `home` (signed by a home key),
`dashboard` (the page and its public JSON), `admin` (the operator's token), `ledger` (when the
ledger is enabled); `common` holds the shared building blocks and the refusals any operation may
meet. The wire schemas themselves come from gridcoop_home.protocol.schema.
"""

from __future__ import annotations

from typing import Any

from gridcoop_home.protocol.schema import SCHEMAS

import hub
from hub.server.openapi.admin import ADMIN_PATHS, ADMIN_SECURITY_SCHEMES
from hub.server.openapi.common import with_limit_answers
from hub.server.openapi.dashboard import DASHBOARD_PATHS
from hub.server.openapi.home import HOME_PATHS
from hub.server.openapi.ledger import LEDGER_PATHS
from hub.server.openapi.public import LEADER_PATH, PUBLIC_PATHS

__all__ = ["PATHS", "openapi_document"]

# Served by every hub, in the document's order.
PATHS: dict[str, Any] = {**PUBLIC_PATHS, **HOME_PATHS, **DASHBOARD_PATHS, **ADMIN_PATHS}


def openapi_document(ledger: bool = False, workers: bool = False) -> dict[str, Any]:
    """The API document; with `ledger`, the ledger's endpoints too (served when it is enabled),
    with `workers` GET /health/leader (served by `serve`, which may run as one of several)."""
    paths = {**PATHS, **LEDGER_PATHS} if ledger else dict(PATHS)
    paths = with_limit_answers({**paths, **(LEADER_PATH if workers else {})})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "GridCoop hub API",
            "version": hub.__version__,
            "description": (
                "Neighbourhood energy market hub. Units: energy Wh, power W, prices minor "
                "currency units per kWh, money milli-minor units. Signed requests carry "
                "X-GridCoop-Key-Id, X-GridCoop-Seq, X-GridCoop-Timestamp, Content-Digest and "
                "X-GridCoop-Signature (see docs/protocol.md#signed-requests). Refusals: 400 "
                "malformed when a request breaks this document (a body, path or query parameter "
                "outside its schema, a query parameter given twice, JSON that is not UTF-8, or "
                "text holding U+0000 or a lone surrogate anywhere, which no database stores); "
                "422 when it fits the document but breaks a rule stated in words (a bid's "
                "limits, curves that cross, a setting out of range)."
            ),
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "homeSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-GridCoop-Signature",
                    "description": "Ed25519 signature by the home key over the request",
                },
                **ADMIN_SECURITY_SCHEMES,
            },
        },
    }
