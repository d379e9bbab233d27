"""Every string the code can show exists in English and Russian, with the same placeholders."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).parents[2] / "custom_components" / "gridcoop"
STRINGS = json.loads((ROOT / "strings.json").read_text())
LANGUAGES = {
    name: json.loads((ROOT / "translations" / f"{name}.json").read_text()) for name in ("en", "ru")
}


def _leaves(tree: Any, prefix: str = "") -> dict[str, str]:
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key, value in tree.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else key))
        return out
    return {prefix: tree}


def _code() -> str:
    return "\n".join(path.read_text() for path in ROOT.glob("*.py"))


def test_english_translation_is_strings_json() -> None:
    assert LANGUAGES["en"] == STRINGS


@pytest.mark.parametrize("language", ["ru"])
def test_translation_has_every_string_and_placeholder(language: str) -> None:
    english, other = _leaves(STRINGS), _leaves(LANGUAGES[language])
    assert set(english) == set(other)
    for key, text in english.items():
        placeholders = set(re.findall(r"\{(\w+)\}", text))
        assert placeholders == set(re.findall(r"\{(\w+)\}", other[key])), key
        assert (other[key] and other[key] != text) or not re.search("[a-z]{4}", text), key


def test_every_translation_key_used_in_code_exists() -> None:
    code = _code()
    known = set(STRINGS["exceptions"]) | set(STRINGS["issues"])
    for platform in STRINGS["entity"].values():
        known |= set(platform)
    for key in re.findall(r'translation_key="(\w+)"', code):
        assert key in known, key
    errors = STRINGS["config"]["error"]
    for key in re.findall(r'FlowError\("(\w+)"\)', code) + list(
        re.findall(r'"\w+": "(\w+)",', code.split("JOIN_ERRORS = {")[1].split("}")[0])
    ):
        assert key in errors, key
    for kind, sub in STRINGS["config_subentries"].items():
        for key in re.findall(r'return "(\w+)"', (ROOT / "subentry_flow.py").read_text()):
            assert key in sub["error"], (kind, key)
