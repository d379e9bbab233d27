"""`gridcoop-hub settings`: the settings the dashboard stored, which win over hub.toml
(docs/hub/configuration.md#precedence), and `forget` to let the file's value apply again."""

from __future__ import annotations

import argparse
import json
from typing import Any

from hub.startup import open_store


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser], db_help: str) -> None:
    parser = sub.add_parser(
        "settings", help="list the settings the dashboard stored (they win over hub.toml)"
    )
    parser.add_argument("--db", help=db_help)
    commands = parser.add_subparsers(dest="settings_command")
    commands.add_parser("list", help="the stored settings (default)")
    forget = commands.add_parser(
        "forget", help="drop stored settings: hub.toml's values apply from the next start"
    )
    forget.add_argument("keys", nargs="+", metavar="KEY", help="e.g. fee_per_kwh tariff")


async def run(db_url: str, args: argparse.Namespace) -> int:
    from hub.service.settings import ALL_KEYS

    store = await open_store(db_url, must_exist=True)
    try:
        if args.settings_command != "forget":
            stored = await store.get_settings()
            for key in ALL_KEYS:
                if key in stored:
                    print(f"{key} = {_shown(stored[key])}")
            if not any(key in stored for key in ALL_KEYS):
                print("no stored settings: hub.toml (or the defaults) gives every value")
            return 0
        unknown = sorted(set(args.keys) - set(ALL_KEYS))
        if unknown:
            print(f"not a dashboard setting: {', '.join(unknown)} (one of {', '.join(ALL_KEYS)})")
            return 2
        for key in args.keys:
            forgotten = await store.forget_setting(key)
            print(f"{key}: {'forgotten' if forgotten else 'was not stored'}")
        print("hub.toml's values apply from the next start of the hub")
        return 0
    finally:
        await store.close()


def _shown(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
