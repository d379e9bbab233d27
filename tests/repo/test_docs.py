"""The documentation holds together: every link resolves and every cited page exists.

- Every relative link (and image) in README.md and docs/ names an existing file, and an `#anchor`
  into a Markdown file names one of its headings, with the id Python-Markdown's toc extension
  gives it (what mkdocs builds, with the extensions mkdocs.yml lists).
- Every `docs/...md` path cited in code, tests, scripts and the integration's files exists (and
  its anchor, if it has one).
- Each docs-* rule of the integration's quality_scale.yaml that is done names the section of the
  docs that meets it, and that section exists.
- Nothing cites a design document that the repository does not have.

Drafts waiting for their page (docs/_pending/) are not part of the site and are not checked.
"""

from __future__ import annotations

import re
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import markdown
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
THIS_FILE = Path(__file__).resolve()
PENDING = Path("docs/_pending")
SKIPPED_DIRS = {".git", "build", "dist", "node_modules", "__pycache__", "artifacts", "htmlcov"}
CODE_SUFFIXES = {".py", ".js", ".yaml", ".yml", ".toml", ".sh", ".json", ".html", ".txt", ".cfg"}
CITED_DOC = re.compile(r"\bdocs/[A-Za-z0-9_./-]+\.md(?:#[A-Za-z0-9_-]+)?")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:...
DESIGN_DOC = "DESIGN" + ".md"  # spelt apart so this file does not cite it


# -- the checker ---------------------------------------------------------------------------------


class _Links(HTMLParser):
    """The href of every <a> and the src of every <img> in rendered HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"a": "href", "img": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.targets.append(value)


class _IgnorePythonTags(yaml.SafeLoader):
    """mkdocs.yml may name Python objects (`!!python/name:...`); they do not matter here."""


_IgnorePythonTags.add_multi_constructor(
    "tag:yaml.org,2002:python/", lambda loader, suffix, node: None
)


def markdown_extensions(root: Path) -> tuple[list[str], dict[str, Any]]:
    """The Markdown extensions mkdocs builds with (mkdocs.yml), toc always among them."""
    names: list[str] = []
    configs: dict[str, Any] = {}
    config_file = root / "mkdocs.yml"
    listed = []
    if config_file.exists():
        listed = yaml.load(config_file.read_text(), Loader=_IgnorePythonTags).get(
            "markdown_extensions", []
        )
    for item in listed:
        name, config = (item, None) if isinstance(item, str) else next(iter(item.items()))
        names.append(name)
        if config:
            configs[name] = config
    if "toc" not in names:
        names.append("toc")
    return names, configs


@cache
def _render(path: Path, root: Path) -> tuple[frozenset[str], tuple[str, ...]]:
    """A Markdown file's heading ids and link targets, as the site renders it."""
    names, configs = markdown_extensions(root)
    md = markdown.Markdown(extensions=names, extension_configs=configs)
    html = md.convert(path.read_text(encoding="utf-8"))
    ids: set[str] = set()
    tokens: list[dict[str, Any]] = list(md.toc_tokens)  # type: ignore[attr-defined]
    while tokens:
        token = tokens.pop()
        ids.add(token["id"])
        tokens.extend(token["children"])
    parser = _Links()
    parser.feed(html)
    return frozenset(ids), tuple(parser.targets)


def heading_ids(path: Path, root: Path = REPO) -> frozenset[str]:
    return _render(path.resolve(), root.resolve())[0]


def link_problems(page: Path, root: Path = REPO) -> list[str]:
    """What is wrong with the relative links of one Markdown file (empty when nothing is)."""
    problems = []
    for target in _render(page.resolve(), root.resolve())[1]:
        if EXTERNAL.match(target):
            continue
        path_part, _, anchor = target.partition("#")
        where = f"{page.relative_to(root)}: link {target!r}"
        linked = (page.parent / path_part).resolve() if path_part else page.resolve()
        if root.resolve() not in (linked, *linked.parents):
            problems.append(f"{where} leaves the repository")
        elif not linked.exists():
            problems.append(f"{where}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in heading_ids(linked, root):
            problems.append(f"{where}: no heading with the id {anchor!r} in {path_part or 'it'}")
    return problems


def citation_problems(text: str, source: str, root: Path = REPO) -> list[str]:
    """What is wrong with the `docs/...md[#anchor]` paths a file cites."""
    problems = []
    for cited in sorted(set(CITED_DOC.findall(text))):
        path_part, _, anchor = cited.partition("#")
        page = root / path_part
        if not page.is_file():
            problems.append(f"{source} cites {cited}: no such file")
        elif anchor and anchor not in heading_ids(page, root):
            problems.append(f"{source} cites {cited}: no heading with the id {anchor!r}")
    return problems


def repository_files(root: Path = REPO) -> list[Path]:
    files = []
    for path in root.rglob("*"):
        parts = path.relative_to(root).parts
        if any(part in SKIPPED_DIRS or part.startswith(".venv") for part in parts):
            continue
        if path.is_file():
            files.append(path)
    return files


def documentation_pages(root: Path = REPO) -> list[Path]:
    pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    return [page for page in pages if PENDING not in page.relative_to(root).parents]


def citing_files(root: Path = REPO) -> list[Path]:
    """Code, tests, scripts and configuration: where a cited doc path is plain text."""
    return [
        path
        for path in repository_files(root)
        if path.resolve() != THIS_FILE
        and (
            path.suffix in CODE_SUFFIXES
            or path.name == "Makefile"
            or path.parent.name in {"scripts", ".ci"}
        )
    ]


# -- the repository's documentation --------------------------------------------------------------


def test_the_site_and_the_readme_exist() -> None:
    assert (REPO / "mkdocs.yml").is_file()
    for page in ("index.md", "home_assistant.md", "hub/quick_start.md", "development.md"):
        assert (REPO / "docs" / page).is_file(), page


@pytest.mark.parametrize(
    "page", documentation_pages(), ids=lambda page: str(page.relative_to(REPO))
)
def test_every_relative_link_resolves(page: Path) -> None:
    assert link_problems(page) == []


def test_every_cited_doc_page_exists() -> None:
    problems = []
    for path in citing_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        problems += citation_problems(text, str(path.relative_to(REPO)))
    assert problems == []


def test_code_cites_doc_pages_not_readme_headings() -> None:
    readme_heading = re.compile(r"README[:,]? ['\"]?[A-Z][a-z]")  # e.g. "README: Ledger"
    offenders = [
        str(path.relative_to(REPO))
        for path in citing_files()
        if readme_heading.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_the_manifest_documentation_link_is_a_page_of_the_docs() -> None:
    manifest = (REPO / "custom_components/gridcoop/manifest.json").read_text()
    cited = CITED_DOC.findall(manifest)
    assert cited == ["docs/home_assistant.md"]
    assert (REPO / cited[0]).is_file()


def test_each_done_docs_rule_of_the_quality_scale_names_an_existing_section() -> None:
    path = REPO / "custom_components/gridcoop/quality_scale.yaml"
    text = path.read_text()
    rules = yaml.safe_load(text)["rules"]
    docs_rules = [name for name in rules if name.startswith("docs-")]
    assert docs_rules, "the quality scale lists the docs rules"
    problems = []
    for name in docs_rules:
        rule = rules[name]
        status = rule if isinstance(rule, str) else rule["status"]
        if status != "done":
            continue
        line = re.search(rf"^\s*{re.escape(name)}:.*$", text, re.MULTILINE)
        assert line is not None
        cited = [c for c in CITED_DOC.findall(line.group(0)) if "#" in c]
        if not cited:
            problems.append(f"{name}: names no docs/...md#section")
        problems += citation_problems(line.group(0), f"quality_scale.yaml {name}")
    assert problems == []


def test_no_file_cites_a_design_document_the_repository_lacks() -> None:
    files = repository_files()
    if any(path.name == DESIGN_DOC for path in files):
        return  # the document exists: citing it is fine
    offenders = [
        str(path.relative_to(REPO))
        for path in files
        if path.resolve() != THIS_FILE
        and path.suffix in CODE_SUFFIXES | {".md"}
        and DESIGN_DOC in path.read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []


# -- the checker itself, on a tiny repository ----------------------------------------------------


@pytest.fixture
def tiny_repo(tmp_path: Path) -> Path:
    (tmp_path / "docs" / "hub").mkdir(parents=True)
    (tmp_path / "mkdocs.yml").write_text(
        "markdown_extensions:\n  - toc:\n      permalink: true\n  - pymdownx.superfences\n"
    )
    (tmp_path / "docs" / "page.md").write_text(
        "# Page\n\n## Signed requests\n\n## The feeder model (`hub.grid`)\n\n"
        "```bash\n# not a heading\n```\n\n[up](../README.md) [self](#signed-requests)\n"
    )
    (tmp_path / "docs" / "hub" / "api.md").write_text(
        "# API\n\n[protocol](../page.md#signed-requests) "
        "[feeder](../page.md#the-feeder-model-hubgrid)\n"
    )
    (tmp_path / "README.md").write_text(
        "# Tiny\n\n[docs](docs/page.md) [api](docs/hub/api.md#api) "
        "![picture](docs/page.md) [web](https://example.org/x.md#nowhere)\n"
    )
    return tmp_path


def test_the_checker_accepts_links_that_resolve(tiny_repo: Path) -> None:
    for page in documentation_pages(tiny_repo):
        assert link_problems(page, tiny_repo) == []
    assert heading_ids(tiny_repo / "docs" / "page.md", tiny_repo) == {
        "page",
        "signed-requests",
        "the-feeder-model-hubgrid",
    }


def test_the_checker_names_a_missing_file_and_a_missing_anchor(tiny_repo: Path) -> None:
    (tiny_repo / "docs" / "bad.md").write_text(
        "# Bad\n\n[gone](nowhere.md) [anchor](page.md#not-a-heading) "
        "[code](page.md#not-a-heading-either) [own](#bad-anchor) [out](../../outside.md)\n"
    )
    problems = link_problems(tiny_repo / "docs" / "bad.md", tiny_repo)
    assert problems == [
        "docs/bad.md: link 'nowhere.md': no such file",
        "docs/bad.md: link 'page.md#not-a-heading': no heading with the id 'not-a-heading' "
        "in page.md",
        "docs/bad.md: link 'page.md#not-a-heading-either': no heading with the id "
        "'not-a-heading-either' in page.md",
        "docs/bad.md: link '#bad-anchor': no heading with the id 'bad-anchor' in it",
        "docs/bad.md: link '../../outside.md' leaves the repository",
    ]


def test_a_heading_inside_a_code_block_is_no_anchor(tiny_repo: Path) -> None:
    (tiny_repo / "docs" / "code.md").write_text("# Code\n\n[x](page.md#not-a-heading-1)\n")
    assert "not-a-heading" not in heading_ids(tiny_repo / "docs" / "page.md", tiny_repo)
    assert len(link_problems(tiny_repo / "docs" / "code.md", tiny_repo)) == 1


def test_the_checker_names_cited_pages_and_sections_that_do_not_exist(tiny_repo: Path) -> None:
    code = (
        '"""See docs/page.md#signed-requests and docs/hub/api.md.\n'
        'Also docs/gone.md and docs/page.md#no-such-section."""\n'
    )
    assert citation_problems(code, "x.py", tiny_repo) == [
        "x.py cites docs/gone.md: no such file",
        "x.py cites docs/page.md#no-such-section: no heading with the id 'no-such-section'",
    ]


def test_pending_drafts_are_not_pages_of_the_site(tiny_repo: Path) -> None:
    (tiny_repo / "docs" / "_pending").mkdir()
    (tiny_repo / "docs" / "_pending" / "wt-x.md").write_text("[later](../later.md)\n")
    pages = [page.relative_to(tiny_repo) for page in documentation_pages(tiny_repo)]
    assert Path("docs/_pending/wt-x.md") not in pages
    assert Path("docs/page.md") in pages
