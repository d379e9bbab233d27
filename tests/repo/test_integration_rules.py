"""The rules of hassfest and of HACS validation that matter to GridCoop, checked offline.

CI runs the real validators on GitHub (.github/workflows/ci.yml: home-assistant/actions/hassfest
and hacs/action); neither runs without GitHub, so these tests hold the integration to the same
rules on every machine. Our own checks, written from the validators' documented rules:

- manifest.json: `domain` (the folder's name) and `name` first, the other keys in alphabetical
  order; the keys Home Assistant and HACS require; a valid `version`; requirements pinned as
  `name==version` without spaces; valid `iot_class` and `integration_type`; `config_flow` true
  exactly when there is a config_flow.py; the documentation link names a file of this repository.
- hacs.json: only the keys HACS knows, a `name`; exactly one integration under custom_components/.
- strings.json is translations/en.json (a custom integration is shown from translations/ only,
  where `[%key:...]` references are not resolved); every other translation only has keys English
  has.
- every action registered in code is in services.yaml and the other way round; each has a name
  and description, and each of its fields a name and description, in the translations; a
  selector's translation_key exists; each has an icon in icons.json.
- every exception raised with translation_domain=DOMAIN has its message in the translations.
- the brand icon (custom_components/gridcoop/brand/icon.png, what HACS and Home Assistant 2026
  show) is a square PNG of 256 px (icon@2x 512 px).
"""

from __future__ import annotations

import ast
import json
import re
import struct
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.version import InvalidVersion, Version

REPO = Path(__file__).resolve().parents[2]
INTEGRATION = REPO / "custom_components" / "gridcoop"
IOT_CLASSES = {
    "assumed_state",
    "calculated",
    "cloud_polling",
    "cloud_push",
    "local_polling",
    "local_push",
}
INTEGRATION_TYPES = {
    "device",
    "entity",
    "hardware",
    "helper",
    "hub",
    "service",
    "system",
    "virtual",
}
HACS_KEYS = {
    "content_in_root",
    "country",
    "filename",
    "hacs",
    "hide_default_branch",
    "homeassistant",
    "name",
    "persistent_directory",
    "render_readme",
    "zip_release",
}
REPOSITORY_URL = "https://github.com/gridcoop/gridcoop"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@cache
def manifest() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INTEGRATION / "manifest.json").read_text())
    return data


@cache
def strings() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INTEGRATION / "strings.json").read_text())
    return data


@cache
def services_yaml() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((INTEGRATION / "services.yaml").read_text()) or {}
    return data


def integration_modules() -> list[tuple[Path, ast.Module]]:
    return [(p, ast.parse(p.read_text())) for p in sorted(INTEGRATION.glob("*.py"))]


def nested_keys(tree: dict[str, Any], prefix: str = "") -> set[str]:
    keys = set()
    for key, value in tree.items():
        keys.add(prefix + key)
        if isinstance(value, dict):
            keys |= nested_keys(value, f"{prefix}{key}.")
    return keys


# -- manifest.json -------------------------------------------------------------------------------


def test_manifest_keys_are_domain_name_then_alphabetical() -> None:
    keys = list(manifest())
    assert keys[:2] == ["domain", "name"], keys
    assert keys[2:] == sorted(keys[2:]), keys


def test_manifest_has_what_home_assistant_and_hacs_require() -> None:
    data = manifest()
    assert data["domain"] == INTEGRATION.name
    assert re.fullmatch(r"[a-z0-9_]+", data["domain"])
    assert isinstance(data["name"], str) and data["name"]
    for key in ("codeowners", "documentation", "iot_class", "issue_tracker", "requirements"):
        assert key in data, key
    assert data["codeowners"] and all(re.fullmatch(r"@[\w/-]+", o) for o in data["codeowners"])
    assert data["iot_class"] in IOT_CLASSES
    assert data.get("integration_type", "hub") in INTEGRATION_TYPES
    for key in ("dependencies", "after_dependencies", "loggers"):
        assert all(isinstance(item, str) for item in data.get(key, [])), key


def test_manifest_version_is_valid() -> None:
    # Home Assistant refuses to load a custom integration without a valid version.
    version = manifest()["version"]
    try:
        Version(version)
    except InvalidVersion:
        pytest.fail(f"manifest version {version!r} is not a valid version")
    assert re.fullmatch(r"\d+\.\d+\.\d+", version), version


def test_requirements_are_pinned_without_spaces() -> None:
    requirements = manifest()["requirements"]
    assert requirements
    for line in requirements:
        assert " " not in line, line
        requirement = Requirement(line)
        specifiers = list(requirement.specifier)
        assert len(specifiers) == 1 and specifiers[0].operator == "==", line
        assert not requirement.extras and requirement.marker is None, line
        Version(specifiers[0].version)


def test_config_flow_flag_matches_the_module() -> None:
    assert bool(manifest().get("config_flow")) == (INTEGRATION / "config_flow.py").is_file()
    if manifest().get("config_flow"):
        assert "config" in strings()


def test_documentation_and_issue_tracker_point_into_this_repository() -> None:
    documentation = manifest()["documentation"]
    match = re.fullmatch(re.escape(REPOSITORY_URL) + r"/blob/main/(.+)", documentation)
    assert match, documentation
    assert (REPO / match.group(1)).is_file(), documentation
    assert manifest()["issue_tracker"] == REPOSITORY_URL + "/issues"


# -- HACS ----------------------------------------------------------------------------------------


def test_hacs_json_has_a_name_and_only_known_keys() -> None:
    hacs = json.loads((REPO / "hacs.json").read_text())
    assert isinstance(hacs.get("name"), str) and hacs["name"]
    assert set(hacs) <= HACS_KEYS, set(hacs) - HACS_KEYS
    if hacs.get("zip_release"):
        assert hacs.get("filename")
    if "homeassistant" in hacs:
        Version(hacs["homeassistant"])
    for key in ("content_in_root", "render_readme", "hide_default_branch", "zip_release"):
        assert isinstance(hacs.get(key, False), bool), key
    assert not hacs.get("content_in_root", False)


def test_one_integration_in_custom_components() -> None:
    folders = [
        p.name
        for p in (REPO / "custom_components").iterdir()
        if p.is_dir() and not p.name.startswith(("_", "."))
    ]
    assert folders == [INTEGRATION.name]
    assert (REPO / "README.md").is_file()  # HACS shows it (render_readme)


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == PNG_SIGNATURE and head[12:16] == b"IHDR", f"{path} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_brand_icon_is_a_square_png() -> None:
    brand = INTEGRATION / "brand"
    assert png_size(brand / "icon.png") == (256, 256)
    for name in ("dark_icon.png", "icon@2x.png", "dark_icon@2x.png"):
        if (brand / name).exists():
            side = 512 if "@2x" in name else 256
            assert png_size(brand / name) == (side, side), name


# -- translations ----------------------------------------------------------------------------------


def test_strings_json_is_the_english_translation() -> None:
    english = json.loads((INTEGRATION / "translations" / "en.json").read_text())
    assert english == strings()
    assert "[%key:" not in (INTEGRATION / "translations" / "en.json").read_text()


def test_other_translations_only_translate_english_keys() -> None:
    english = nested_keys(strings())
    for path in sorted((INTEGRATION / "translations").glob("*.json")):
        extra = nested_keys(json.loads(path.read_text())) - english
        assert not extra, f"{path.name}: {sorted(extra)}"


# -- actions (services) --------------------------------------------------------------------------


def registered_services() -> set[str]:
    """The names passed to hass.services.async_register(DOMAIN, "<name>", ...) and to
    async_register_admin_service(hass, DOMAIN, "<name>", ...) in the code."""
    names = set()
    for path, module in integration_modules():
        for node in ast.walk(module):
            if not isinstance(node, ast.Call):
                continue
            if isinstance(node.func, ast.Attribute) and node.func.attr == "async_register":
                position = 1
            elif isinstance(node.func, ast.Name) and node.func.id == "async_register_admin_service":
                position = 2
            else:
                continue
            if len(node.args) > position:
                name = node.args[position]
                assert isinstance(name, ast.Constant) and isinstance(name.value, str), path
                names.add(name.value)
    return names


def test_services_yaml_lists_exactly_the_registered_actions() -> None:
    assert registered_services() == set(services_yaml())


def test_every_action_and_field_has_a_name_and_description() -> None:
    translated = strings().get("services", {})
    assert set(translated) == set(services_yaml())
    for service, spec in services_yaml().items():
        text = translated[service]
        assert text.get("name") and text.get("description"), service
        fields = (spec or {}).get("fields", {})
        assert set(text.get("fields", {})) == set(fields), service
        for field in fields:
            field_text = text["fields"][field]
            assert field_text.get("name") and field_text.get("description"), (service, field)


def test_selector_translation_keys_exist() -> None:
    selectors = strings().get("selector", {})
    for service, spec in services_yaml().items():
        for field, field_spec in (spec or {}).get("fields", {}).items():
            for options in ((field_spec or {}).get("selector") or {}).values():
                key = (options or {}).get("translation_key")
                if key is None:
                    continue
                assert key in selectors, (service, field, key)
                wanted = {
                    o if isinstance(o, str) else o["value"] for o in options.get("options", [])
                }
                assert wanted <= set(selectors[key].get("options", {})), (service, field)


def test_every_action_has_an_icon() -> None:
    icons = json.loads((INTEGRATION / "icons.json").read_text()).get("services", {})
    assert set(icons) == set(services_yaml())
    for service, icon in icons.items():
        assert re.fullmatch(r"mdi:[a-z0-9-]+", icon.get("service", "")), service


# -- exceptions ----------------------------------------------------------------------------------


def test_translated_exceptions_have_messages() -> None:
    messages = strings().get("exceptions", {})
    missing, checked = [], 0
    for path, module in integration_modules():
        literals = _literal_parameters(module)
        for node in ast.walk(module):
            if not isinstance(node, ast.Call):
                continue
            keywords = {k.arg: k.value for k in node.keywords}
            domain, key = keywords.get("translation_domain"), keywords.get("translation_key")
            if isinstance(domain, ast.Name) and domain.id == "DOMAIN":
                # A key is a literal, a parameter typed Literal[...] or a lookup in a module-level
                # dict of literals (each possible value checked).
                if isinstance(key, ast.Name):
                    assert key.id in literals, f"{path.name}:{node.lineno}"
                    keys = literals[key.id]
                elif isinstance(key, ast.Subscript) and isinstance(key.value, ast.Name):
                    assert key.value.id in literals, f"{path.name}:{node.lineno}"
                    keys = literals[key.value.id]
                else:
                    assert isinstance(key, ast.Constant), f"{path.name}:{node.lineno}"
                    keys = [key.value]
                for value in keys:
                    checked += 1
                    if value not in messages or not messages[value].get("message"):
                        missing.append(f"{path.name}:{node.lineno} {value}")
    assert checked and not missing, missing


def _literal_parameters(module: ast.Module) -> dict[str, list[str]]:
    """Parameters annotated Literal["a", "b"] and module-level dicts of literal values, by name."""
    found: dict[str, list[str]] = {}
    for statement in module.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Dict):
            for target in statement.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = [
                        v.value for v in statement.value.values if isinstance(v, ast.Constant)
                    ]
    for node in ast.walk(module):
        if isinstance(node, ast.arg) and isinstance(node.annotation, ast.Subscript):
            annotation = node.annotation
            if isinstance(annotation.value, ast.Name) and annotation.value.id == "Literal":
                values = annotation.slice
                items = values.elts if isinstance(values, ast.Tuple) else [values]
                found[node.arg] = [v.value for v in items if isinstance(v, ast.Constant)]
    return found
