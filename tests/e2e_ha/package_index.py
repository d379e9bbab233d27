"""Our two distributions as a package index would serve them to a user's Home Assistant.

`build_wheels` builds gridcoop-home (`home/`) and gridcoop-hub (the root) from the working tree,
`write_simple_index` lays the wheels out as a PEP 503 "simple" index, and `PackageIndex` serves
that folder on 127.0.0.1 and remembers every path it was asked for, so a test can tell that Home
Assistant's installer fetched our wheel from here and not from anywhere else.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import subprocess
import sys
import threading
import tomllib
import zipfile
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
# Never copied into the build tree: setuptools keeps modules deleted from the source in a stale
# build/lib and would put them in the wheel.
NOT_SOURCE = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", "*.pyc")


def repository_version() -> str:
    """The repository's one version (home/pyproject.toml; tests/repo/test_release.py keeps the
    others equal to it)."""
    with (REPO / "home" / "pyproject.toml").open("rb") as file:
        version: str = tomllib.load(file)["project"]["version"]
    return version


@dataclass(frozen=True)
class Wheels:
    version: str
    home: Path  # gridcoop_home-<version>-py3-none-any.whl
    hub: Path  # gridcoop_hub-<version>-py3-none-any.whl

    def record(self, wheel: Path) -> dict[str, str]:
        """The wheel's RECORD: installed path -> "sha256=<urlsafe b64>" (files with a hash)."""
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/RECORD"))
            lines = archive.read(name).decode().splitlines()
        rows = (line.rsplit(",", 2) for line in lines if line)
        return {path: digest for path, digest, _size in rows if digest}

    def requirements(self, wheel: Path) -> list[str]:
        """The wheel's Requires-Dist lines."""
        with zipfile.ZipFile(wheel) as archive:
            name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
            metadata = archive.read(name).decode()
        return re.findall(r"^Requires-Dist: (.+)$", metadata, re.MULTILINE)


def build_wheels(into: Path) -> Wheels:
    """Build both wheels from a fresh copy of the working tree (what is on disk now, committed or
    not), as `pip wheel` in an isolated build environment does for a user."""
    source = into / "source"
    shutil.copytree(REPO / "home", source / "home", ignore=NOT_SOURCE)
    shutil.copytree(REPO / "hub", source / "hub", ignore=NOT_SOURCE)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    out = into / "wheels"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir"]
    subprocess.run(
        [*pip_wheel, str(out), str(source / "home"), str(source)],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    version = repository_version()
    return Wheels(
        version,
        out / f"gridcoop_home-{version}-py3-none-any.whl",
        out / f"gridcoop_hub-{version}-py3-none-any.whl",
    )


def normalized(name: str) -> str:
    """PEP 503 project name normalisation."""
    return re.sub(r"[-_.]+", "-", name).lower()


def write_simple_index(root: Path, wheels: list[Path]) -> str:
    """A PEP 503 index of `wheels` in root/<digest>/: simple/index.html and
    simple/<project>/index.html linking packages/<wheel> with its sha256. Returns the index's
    path, "/<digest>/simple/". The digest of the wheels' contents makes the URL differ whenever a
    wheel does: uv caches what it downloads by index URL and file name, and our wheels keep their
    version (and so their file name) from one build to the next."""
    digest = hashlib.sha256(b"".join(w.read_bytes() for w in wheels)).hexdigest()[:16]
    base = root / digest
    packages = base / "packages"
    packages.mkdir(parents=True)
    projects: dict[str, list[Path]] = {}
    for wheel in wheels:
        shutil.copy2(wheel, packages / wheel.name)
        projects.setdefault(normalized(wheel.name.split("-")[0]), []).append(wheel)
    simple = base / "simple"
    simple.mkdir()
    links = "".join(f'<a href="{p}/">{p}</a>\n' for p in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    for project, files in projects.items():
        (simple / project).mkdir()
        anchors = "".join(
            f'<a href="../../packages/{html.escape(f.name)}#sha256='
            f'{hashlib.sha256(f.read_bytes()).hexdigest()}">{html.escape(f.name)}</a>\n'
            for f in files
        )
        (simple / project / "index.html").write_text(
            f"<!DOCTYPE html>\n<html><body>\n{anchors}</body></html>\n"
        )
    return f"/{digest}/simple/"


class _Handler(SimpleHTTPRequestHandler):
    def __init__(self, *args: Any, served: list[str], **kwargs: Any) -> None:
        self._served = served
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # requests are kept in `served`, not printed

    def send_response(self, code: int, message: str | None = None) -> None:
        self._served.append(f"{self.command} {self.path} {code}")
        super().send_response(code, message)


class PackageIndex:
    """A folder served over HTTP on 127.0.0.1 (a free port), in a thread; `url` is the index
    at `simple_path` in it (what write_simple_index returned)."""

    def __init__(self, root: Path, simple_path: str) -> None:
        self.root = root
        self.requests: list[str] = []  # "GET /simple/gridcoop-home/ 200", ...
        handler = partial(_Handler, directory=str(root), served=self.requests)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port: int = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}{simple_path}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> PackageIndex:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def served(self, path_part: str) -> list[str]:
        """The successful requests whose path contains `path_part`."""
        return [r for r in self.requests if path_part in r and r.endswith(" 200")]
