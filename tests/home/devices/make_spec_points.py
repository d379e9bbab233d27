"""Regenerate spec_points.json: the official SunSpec definition of every point the reader decodes.

The SunSpec Alliance publishes its model definitions as JSON (github.com/sunspec/models,
json/model_<id>.json, Apache-2.0). The reader's point tables (models.py) are written by hand;
this script extracts, for each point those tables name, what the official definition says
(offset, type, size, scale-factor point, units, access), so tests can hold the tables and the
test devices to the definitions without the definitions living in this repository.

    git clone https://github.com/sunspec/models /tmp/sunspec-models
    .venv/bin/python tests/home/devices/make_spec_points.py /tmp/sunspec-models \
        --revision "$(git -C /tmp/sunspec-models rev-parse HEAD)" \
        > tests/home/devices/spec_points.json

A name in models.py that the definition lacks is an error: fix the table, then regenerate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from gridcoop_home.devices.sunspec.models import MODELS
from gridcoop_home.devices.sunspec.points import ModelDef

HEADER = 2  # ID and L precede every model body; offsets below count from the body


def _layout(points: list[dict[str, Any]]) -> tuple[dict[str, list[Any]], int]:
    """Each point's [offset, type, size, sf, units, access] and the total size of the group."""
    table: dict[str, list[Any]] = {}
    offset = 0
    for point in points:
        size = int(point.get("size", 1))
        units = point.get("units")
        table[point["name"]] = [
            offset,
            point["type"],
            size,
            point.get("sf"),
            units.strip() if isinstance(units, str) else None,
            point.get("access", "R"),
        ]
        offset += size
    return table, offset


def _select(table: dict[str, list[Any]], names: list[str], model_id: int) -> list[list[Any]]:
    missing = [name for name in names if name not in table]
    if missing:
        raise SystemExit(f"model {model_id}: the official definition has no point {missing}")
    return [[name, *table[name]] for name in names]


def extract(model: ModelDef, definition: dict[str, Any]) -> dict[str, Any]:
    group = definition["group"]
    fixed, fixed_size = _layout(group["points"])
    body = {name: [entry[0] - HEADER, *entry[1:]] for name, entry in fixed.items()}
    del body["ID"], body["L"]
    result: dict[str, Any] = {
        "length": fixed_size - HEADER,
        "points": _select(body, [p.name for p in model.points], model.model_id),
    }
    if model.repeat:
        (repeat_group,) = group["groups"]
        repeat, repeat_size = _layout(repeat_group["points"])
        result["repeat"] = {
            "length": repeat_size,
            "points": _select(repeat, [p.name for p in model.repeat], model.model_id),
        }
    return result


def render(models: dict[str, Any], revision: str) -> str:
    """JSON with one point per line, so a regenerated file diffs point by point."""
    lines = [
        "{",
        '  "source": "github.com/sunspec/models json/model_<id>.json (Apache-2.0), '
        f'revision {revision}; extracted by tests/home/devices/make_spec_points.py",',
        '  "columns": ["name", "offset", "type", "size", "sf", "units", "access"],',
        '  "models": {',
    ]
    model_blocks = []
    for model_id, entry in models.items():
        if "same_as" in entry:
            model_blocks.append(f'    "{model_id}": {{"same_as": "{entry["same_as"]}"}}')
            continue
        block = [f'    "{model_id}": {{', f'      "length": {entry["length"]},']
        block.append('      "points": [')
        block.append(",\n".join(f"        {json.dumps(p)}" for p in entry["points"]))
        if "repeat" in entry:
            block.append("      ],")
            repeat = entry["repeat"]
            block.append(f'      "repeat": {{"length": {repeat["length"]}, "points": [')
            block.append(",\n".join(f"        {json.dumps(p)}" for p in repeat["points"]))
            block.append("      ]}")
        else:
            block.append("      ]")
        block.append("    }")
        model_blocks.append("\n".join(block))
    lines.append(",\n".join(model_blocks))
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models_checkout", type=Path, help="a checkout of sunspec/models")
    parser.add_argument("--revision", default="unknown", help="the checkout's commit")
    args = parser.parse_args()
    extracted: dict[str, Any] = {}
    for model_id, model in sorted(MODELS.items()):
        path = args.models_checkout / "json" / f"model_{model_id}.json"
        entry = extract(model, json.loads(path.read_text()))
        # 102/103 repeat 101's layout (and so on): store such a layout once.
        twin = next((k for k, v in extracted.items() if v == entry), None)
        extracted[str(model_id)] = entry if twin is None else {"same_as": twin}
    text = render(extracted, args.revision)
    json.loads(text)  # the hand-rolled layout must still be valid JSON
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
