"""`gridcoop-hub ARGS` with the dashboard wired in, for the browser tests:

    python -m tests.e2e.with_dashboard demo --port 8790 --interval-seconds 4 --homes 8
    python -m tests.e2e.with_dashboard serve --config hub.toml --port 8791

Runs the unchanged CLI (real hub, real store; the demo adds simulated homes that enrol, upload
readings and bid every interval). Until hub.server.app.create_app calls setup_dashboard itself,
this wraps the create_app the CLI and the demo use; setup_dashboard is idempotent, so the wrapper
stays harmless afterwards. The admin token comes from GRIDCOOP_ADMIN_TOKEN_SHA256.
"""

from __future__ import annotations

import sys
from typing import Any

from aiohttp import web

import hub.cli
import hub.demo
from hub.server.dashboard import setup_dashboard

_create_app = hub.demo.create_app


def _create_app_with_dashboard(*args: Any, **kwargs: Any) -> web.Application:
    app = _create_app(*args, **kwargs)
    setup_dashboard(app)
    return app


hub.demo.create_app = _create_app_with_dashboard  # type: ignore[assignment]
hub.cli.create_app = _create_app_with_dashboard  # type: ignore[assignment]

if __name__ == "__main__":
    raise SystemExit(hub.cli.main(sys.argv[1:]))  # the default log level (INFO), as deployed
