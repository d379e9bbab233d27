"""One version for the whole repository, and the files that release it.

- home/pyproject.toml (gridcoop-home), pyproject.toml (gridcoop-hub and its gridcoop-home pin),
  the integration's manifest (version and requirement), `gridcoop_home.__version__` and
  `hub.__version__` (what the hub's /health and /api/v1/info report) hold the same X.Y.Z, read
  here independently of scripts/set-version; so does every `gridcoop-home==`/`gridcoop-hub==`
  the documentation mentions.
- scripts/set-version writes a new version into every one of those places (tried on a copy) and
  its --check, which the release workflow runs on the tag, refuses another tag.
- CHANGELOG.md keeps the Keep a Changelog shape and has a section for the version.
- The workflows: CI runs .ci/run, hassfest and HACS validation; a tag vX.Y.Z builds both
  distributions, publishes them with trusted publishing and makes a GitHub release.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SET_VERSION = REPO / "scripts" / "set-version"
MENTIONED = re.compile(r"gridcoop-(?:home|hub)==([0-9A-Za-z.+-]+)")
WORKFLOWS = REPO / ".github" / "workflows"


def toml(path: Path) -> dict[str, Any]:
    with path.open("rb") as file:
        return tomllib.load(file)


def module_version(path: Path) -> str:
    for node in ast.parse(path.read_text()).body:
        if (
            isinstance(node, ast.Assign)
            and [t.id for t in node.targets if isinstance(t, ast.Name)] == ["__version__"]
            and isinstance(node.value, ast.Constant)
        ):
            return str(node.value.value)
    raise AssertionError(f"{path}: no __version__ = '...'")


def versions_in(root: Path) -> dict[str, str]:
    """Every place that must hold the repository's version -> what it holds."""
    home = toml(root / "home" / "pyproject.toml")["project"]
    hub = toml(root / "pyproject.toml")["project"]
    manifest = json.loads((root / "custom_components" / "gridcoop" / "manifest.json").read_text())
    (hub_pin,) = [d for d in hub["dependencies"] if d.startswith("gridcoop-home")]
    (requirement,) = manifest["requirements"]
    assert hub_pin.startswith("gridcoop-home==") and requirement.startswith("gridcoop-home==")
    found = {
        "home/pyproject.toml": home["version"],
        "pyproject.toml": hub["version"],
        "pyproject.toml gridcoop-home pin": hub_pin.removeprefix("gridcoop-home=="),
        "manifest.json version": manifest["version"],
        "manifest.json requirement": requirement.removeprefix("gridcoop-home=="),
        "gridcoop_home.__version__": module_version(root / "home/gridcoop_home/__init__.py"),
        "hub.__version__": module_version(root / "hub/__init__.py"),
    }
    mentions = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
    mentions += sorted((root / "custom_components" / "gridcoop").glob("*.yaml"))
    for path in mentions:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for version in MENTIONED.findall(line):
                found[f"{path.relative_to(root)}:{number}"] = version
    return found


def repository_version() -> str:
    version: str = toml(REPO / "home" / "pyproject.toml")["project"]["version"]
    return version


def test_every_place_holds_the_one_version() -> None:
    versions = versions_in(REPO)
    assert set(versions.values()) == {repository_version()}, versions
    assert re.fullmatch(r"\d+\.\d+\.\d+", repository_version())


def test_the_hub_reports_that_version() -> None:
    import hub

    assert hub.__version__ == repository_version()


def copy_versioned_files(to: Path) -> None:
    for name in ("README.md", "CHANGELOG.md", "pyproject.toml", "home/pyproject.toml"):
        (to / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, to / name)
    for name in ("home/gridcoop_home/__init__.py", "hub/__init__.py"):
        (to / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, to / name)
    shutil.copytree(REPO / "docs", to / "docs")
    shutil.copytree(REPO / "custom_components" / "gridcoop", to / "custom_components" / "gridcoop")


def set_version(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SET_VERSION), *args], capture_output=True, text=True, timeout=60
    )


def test_set_version_writes_every_place(tmp_path: Path) -> None:
    copy_versioned_files(tmp_path)
    before = versions_in(tmp_path)
    done = set_version("7.8.9", "--root", str(tmp_path))
    assert done.returncode == 0, done.stderr
    after = versions_in(tmp_path)
    assert after.keys() == before.keys()
    assert set(after.values()) == {"7.8.9"}
    # A version without its changelog section is announced.
    assert "add a '## [7.8.9]' section to CHANGELOG.md" in done.stderr


def test_set_version_check_compares_the_tag(tmp_path: Path) -> None:
    version = repository_version()
    assert set_version("--check", f"v{version}").returncode == 0
    refused = set_version("--check", "v0.0.1")
    assert refused.returncode == 1 and f"the repository is {version}" in refused.stderr
    copy_versioned_files(tmp_path)
    hub_init = tmp_path / "hub" / "__init__.py"
    hub_init.write_text(hub_init.read_text().replace(f'"{version}"', '"0.0.1"'))
    disagree = set_version("--check", "--root", str(tmp_path))
    assert disagree.returncode == 1 and "hub/__init__.py: 0.0.1" in disagree.stderr


def test_set_version_refuses_a_malformed_version(tmp_path: Path) -> None:
    copy_versioned_files(tmp_path)
    refused = set_version("1.2", "--root", str(tmp_path))
    assert refused.returncode == 2
    assert set(versions_in(tmp_path).values()) == {repository_version()}


# -- CHANGELOG -----------------------------------------------------------------------------------

SECTION = re.compile(r"^## \[(?P<version>[^\]]+)\](?: - (?P<date>\d{4}-\d{2}-\d{2}|Unreleased))?$")


def test_changelog_has_a_section_for_the_version() -> None:
    lines = (REPO / "CHANGELOG.md").read_text().splitlines()
    assert lines[0] == "# Changelog"
    headings = [line for line in lines if line.startswith("## ")]
    sections = [SECTION.match(h) for h in headings]
    assert all(sections), [h for h, s in zip(headings, sections, strict=True) if not s]
    versions = [s["version"] for s in sections if s]
    assert repository_version() in versions
    released = [v for v in versions if v != "Unreleased"]
    assert released == sorted(released, key=lambda v: tuple(map(int, v.split("."))), reverse=True)
    for line in lines:
        if line.startswith("### "):
            assert line[4:] in {"Added", "Changed", "Deprecated", "Removed", "Fixed", "Security"}
    links = dict(re.findall(r"^\[([^\]]+)\]: (\S+)$", "\n".join(lines), re.MULTILINE))
    assert set(versions) <= set(links), "every section needs its link reference"


# -- workflows -----------------------------------------------------------------------------------


def workflow(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return list(job["steps"])


def test_ci_runs_the_suite_hassfest_and_hacs_on_pushes() -> None:
    ci = workflow("ci.yml")
    triggers = ci[True]  # YAML 1.1 reads the key `on` as true
    assert "push" in triggers and "pull_request" in triggers
    uses = {s.get("uses", "").split("@")[0]: s for j in ci["jobs"].values() for s in steps(j)}
    runs = [s.get("run", "") for j in ci["jobs"].values() for s in steps(j)]
    assert any(".ci/run" in run for run in runs)
    assert "home-assistant/actions/hassfest" in uses
    assert uses["hacs/action"]["with"]["category"] == "integration"
    assert (REPO / ".ci" / "run").is_file()


def test_release_builds_and_publishes_both_distributions_on_a_tag() -> None:
    release = workflow("release.yml")
    assert release[True]["push"]["tags"] == ["v*"]
    jobs = release["jobs"]
    runs = "\n".join(s.get("run", "") for j in jobs.values() for s in steps(j))
    assert 'scripts/set-version --check "$GITHUB_REF_NAME"' in runs
    assert "python -m build --outdir dist home" in runs
    assert "python -m build --outdir dist ." in runs
    (publish,) = [
        j
        for j in jobs.values()
        if any(s.get("uses", "").startswith("pypa/gh-action-pypi-publish@") for s in steps(j))
    ]
    assert publish["permissions"]["id-token"] == "write"
    assert not any("password" in s.get("with", {}) for s in steps(publish))  # trusted publishing
    assert "gh release create" in runs


@pytest.mark.parametrize("path", sorted(WORKFLOWS.glob("*.yml")), ids=lambda p: p.name)
def test_workflows_are_valid_yaml_with_jobs(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert data["name"] and data["jobs"]
    for job in data["jobs"].values():
        assert job["runs-on"] and job["steps"]
