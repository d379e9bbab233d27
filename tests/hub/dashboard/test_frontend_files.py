"""Static checks of the page: every text is translated (English and Russian), every asset it
names exists, and it loads nothing from elsewhere (no third-party front-end code)."""

from __future__ import annotations

import json
import re

import pytest

from hub.server.dashboard.routes import STATIC_DIR

PLURAL = re.compile(r"\.(zero|one|two|few|many|other)$")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
HTML = (STATIC_DIR / "index.html").read_text()
SCRIPTS = {path.name: path.read_text() for path in sorted((STATIC_DIR / "js").glob("*.js"))}
# Keys built at run time from these prefixes and the values the hub sends.
DYNAMIC_KEYS = [
    "network.absent",
    "ledger.absent",
    "confirm.home",
    "confirm.key",
    "homes.revoked_home",
    "homes.revoked_key",
    "intervals.interval_seconds",
    "intervals.gate_closure_seconds",
    "market.periodic_uniform_price",
    *(f"live.{state}" for state in ("connecting", "live", "offline")),
    *(f"kind.{kind}" for kind in ("home", "grid", "pv", "battery", "ev")),
    *(
        f"error.{code}"
        for code in (
            "unauthenticated",
            "malformed",
            "invalid_setting",
            "not_found",
            "already_revoked",
            "unreachable",
            "http_error",
        )
    ),
]


def load(lang: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((STATIC_DIR / "i18n" / f"{lang}.json").read_text())
    return data


def base_keys(texts: dict[str, str]) -> set[str]:
    return {PLURAL.sub("", key) for key in texts}


def used_keys() -> set[str]:
    keys = set(re.findall(r'data-i18n(?:-aria-label)?="([^"]+)"', HTML))
    for source in SCRIPTS.values():
        keys |= set(re.findall(r'\bt\("([\w.]+)"', source))
        keys |= set(re.findall(r'\btp\("([\w.]+)"', source))
    return keys | set(DYNAMIC_KEYS)


def test_english_and_russian_have_the_same_texts() -> None:
    assert base_keys(load("en")) == base_keys(load("ru"))


def test_every_text_the_page_uses_is_translated() -> None:
    for lang in ("en", "ru"):
        missing = used_keys() - base_keys(load(lang))
        assert not missing, f"{lang}: {sorted(missing)}"


def test_russian_plurals_have_every_form() -> None:
    ru = load("ru")
    for key in base_keys(ru):
        if f"{key}.other" in ru:
            assert {f"{key}.{form}" for form in ("one", "few", "many", "other")} <= set(ru), key


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_placeholders_match_english(lang: str) -> None:
    english, texts = load("en"), load(lang)
    for key, text in texts.items():
        reference = english.get(key) or english[PLURAL.sub(".other", key)]
        assert set(PLACEHOLDER.findall(text)) == set(PLACEHOLDER.findall(reference)), key


def test_russian_is_russian() -> None:
    ru = load("ru")
    cyrillic = re.compile("[\u0430-\u044f\u0451]", re.I)
    latin_only = [k for k, v in ru.items() if not cyrillic.search(v)]
    # formulas and pure placeholders may stay as they are
    assert set(latin_only) <= {"overview.homes_value"}, latin_only


def test_the_page_loads_only_its_own_files() -> None:
    for name, text in [("index.html", HTML), *SCRIPTS.items()]:
        urls = re.findall(r"https?://[^\s\"'`)]+", text)
        assert all(url.startswith("http://www.w3.org/") for url in urls), (name, urls)
    for source in SCRIPTS.values():
        for target in re.findall(r'from "([^"]+)"', source):
            assert target.startswith("./") and (STATIC_DIR / "js" / target[2:]).is_file(), target
    for asset in re.findall(r'(?:src|href)="/dashboard/([^"]+)"', HTML):
        assert (STATIC_DIR / asset).is_file(), asset


def test_form_fields_have_labels() -> None:
    ids = set(re.findall(r'<(?:input|select)[^>]*\bid="([^"]+)"', HTML))
    labelled = set(re.findall(r'<label for="([^"]+)"', HTML))
    assert ids <= labelled, ids - labelled
