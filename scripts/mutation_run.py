"""Mutation testing of GridCoop's core with mutmut (docs/development.md#mutation-testing).

Run by scripts/mutation inside .venv-mut. Each group of modules runs in a work directory of its
own, build/mutation/<group>/, with only the group's own test files, because:

- mutmut names a mutant after its file's path, so home/gridcoop_home/x.py would become the module
  `home.gridcoop_home.x`, which no test imports (the tests import `gridcoop_home.x` through
  pytest's pythonpath ["." , "home"]). The work directory therefore holds `gridcoop_home` at its
  top, next to `hub` and `tests` (symbolic links into the working tree), with pythonpath ["."];
- mutmut reads its settings from the pyproject.toml of the directory it runs in, and each group
  needs its own test selection: running every test for every mutant would take days on 2 cores.

The score of a module is killed / (killed + survived + no tests + suspicious): a mutant that no
selected test reaches counts against the score, a timeout counts as killed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / "build" / "mutation"
HOME_PACKAGE = "home/gridcoop_home"


@dataclass(frozen=True)
class Group:
    name: str
    modules: tuple[str, ...]  # source files, relative to the repository
    tests: tuple[str, ...]  # the test files that specify them (glob patterns allowed)
    fast: bool = False


GROUPS = (
    Group(
        "merkle",
        ("home/gridcoop_home/ledger/merkle.py",),
        ("tests/hub/ledger/test_merkle.py",),
        fast=True,
    ),
    Group(
        "envelope",
        ("home/gridcoop_home/protocol/envelope.py",),
        ("tests/home/protocol/test_envelope.py", "tests/home/protocol/test_known_answers.py"),
        fast=True,
    ),
    Group(
        "dispatch",
        ("home/gridcoop_home/protocol/dispatch.py",),
        ("tests/home/protocol/test_dispatch.py",),
        fast=True,
    ),
    Group(
        "bids",
        ("home/gridcoop_home/protocol/bids.py",),
        ("tests/home/protocol/test_bids.py", "tests/home/protocol/test_dispatch.py"),
    ),
    Group(
        "market",
        ("hub/market/uniform_price.py", "hub/market/kernels.py"),
        ("tests/hub/market/test_uniform_price.py", "tests/hub/market/test_equilibrium_price.py"),
    ),
    Group(
        "bidding",
        ("home/gridcoop_home/planner/bidding.py", "home/gridcoop_home/planner/reservation.py"),
        ("tests/home/planner/test_*bid*.py",),
    ),
    Group(
        "server",
        ("hub/server/limits.py", "hub/server/auth.py"),
        (
            "tests/hub/server/test_auth.py",
            "tests/hub/server/test_request_sequence.py",
            "tests/hub/scale/test_limits*.py",
        ),
    ),
    Group(
        "ledger-home",
        (
            "home/gridcoop_home/ledger/block.py",
            "home/gridcoop_home/ledger/proofs.py",
            "home/gridcoop_home/ledger/heads.py",
            "home/gridcoop_home/ledger/verdicts.py",
        ),
        (
            "tests/hub/ledger/test_verify_heads.py",
            "tests/hub/ledger/test_light_client.py",
            "tests/hub/ledger/test_equivocations.py",
        ),
    ),
    Group(
        "ledger-chain",
        (
            "hub/ledger/chain/chain.py",
            "hub/ledger/chain/heads.py",
            "hub/ledger/chain/seals.py",
            "hub/ledger/chain/audit.py",
            "hub/ledger/chain/export.py",
        ),
        (
            "tests/hub/ledger/test_audit.py",
            "tests/hub/ledger/test_format_2.py",
            "tests/hub/ledger/test_store.py",
            "tests/hub/ledger/test_verify_heads.py",
            "tests/hub/ledger/test_witness.py",
        ),
    ),
)


def in_work_dir(module: str) -> str:
    """The path mutmut sees: gridcoop_home at the top, as the tests import it."""
    return module.removeprefix("home/")


def test_files(group: Group) -> list[str]:
    """The group's test files in this tree; a named file that is missing is reported."""
    found: list[str] = []
    for pattern in group.tests:
        matches = sorted(str(p.relative_to(REPO)) for p in REPO.glob(pattern))
        if not matches:
            print(f"   note: no test file {pattern} in this tree", flush=True)
        found += [m for m in matches if m not in found]
    if not found:
        raise SystemExit(f"mutation: group {group.name} has none of its test files {group.tests}")
    return found


def pyproject_for(group: Group) -> str:
    """The work directory's pyproject.toml: the project's pytest settings and mutmut's."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    pytest_options = dict(project["tool"]["pytest"]["ini_options"])
    pytest_options["pythonpath"] = ["."]
    tests = test_files(group)
    pytest_options["testpaths"] = tests
    mutmut_options = {
        "source_paths": ["hub", "gridcoop_home"],
        "only_mutate": [in_work_dir(m) for m in group.modules],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider"],
        "use_git_change_detection": False,
    }
    lines = ["[tool.pytest.ini_options]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in pytest_options.items()]
    lines += ["", "[tool.mutmut]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in mutmut_options.items()]
    return "\n".join(lines) + "\n"


def prepare(group: Group, fresh: bool) -> Path:
    work = WORK / group.name
    if fresh and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    for name, target in (("hub", "hub"), ("gridcoop_home", HOME_PACKAGE), ("tests", "tests")):
        link = work / name
        if not link.is_symlink():
            link.symlink_to(REPO / target, target_is_directory=True)
    (work / "pyproject.toml").write_text(pyproject_for(group))
    return work


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop mutmut and its workers (its own process group): results so far stay recorded."""
    os.killpg(process.pid, signal.SIGINT)  # mutmut stops its workers on an interrupt
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_mutmut(
    group: Group, work: Path, max_children: int, budget: float | None
) -> tuple[bool, float]:
    """mutmut run in the group's directory; False when the budget ran out first."""
    log = work / "mutmut.log"
    mutmut = str(Path(sys.executable).parent / "mutmut")
    command = ["nice", "-n", "10", mutmut, "run"]
    command += ["--max-children", str(max_children)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "TERM": "dumb"}
    env.pop("PYTHONPATH", None)
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(
            command, cwd=work, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        try:
            code = process.wait(timeout=budget)
        except subprocess.TimeoutExpired:
            stop(process)
            return False, time.monotonic() - started
    if code != 0:
        tail = log.read_text(errors="replace")[-3000:]
        raise SystemExit(f"mutation: mutmut failed in {work} (exit {code}):\n{tail}")
    return True, time.monotonic() - started


@dataclass
class Tally:
    killed: int = 0
    survived: int = 0
    untested: int = 0  # no selected test reaches the mutant
    other: int = 0  # suspicious or segfault: not counted as killed
    unchecked: int = 0  # not run (budget ran out)

    @property
    def checked(self) -> int:
        return self.killed + self.survived + self.untested + self.other

    @property
    def score(self) -> float:
        return 100.0 * self.killed / self.checked if self.checked else 0.0

    def add(self, other: Tally) -> None:
        for field in ("killed", "survived", "untested", "other", "unchecked"):
            setattr(self, field, getattr(self, field) + getattr(other, field))


def tally(work: Path, module: str) -> tuple[Tally, list[str]]:
    from mutmut.stats import status_by_exit_code

    meta = work / "mutants" / (in_work_dir(module) + ".meta")
    result = Tally()
    survivors: list[str] = []
    if not meta.exists():
        return result, survivors
    for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
        status = status_by_exit_code[code]
        if status in ("killed", "timeout", "caught by type check"):
            result.killed += 1
        elif status == "survived":
            result.survived += 1
            survivors.append(name)
        elif status == "no tests":
            result.untested += 1
            survivors.append(name)
        elif status in ("not checked", "skipped", "check was interrupted by user"):
            result.unchecked += 1
        else:
            result.other += 1
            survivors.append(name)
    return result, survivors


SHOW = """
import sys
from mutmut.__main__ import status_by_exit_code
from mutmut.mutation.diff_apply import find_mutant, get_diff_for_mutant
for name in sys.argv[1:]:
    found = find_mutant(name)
    print(f"# {name}: {status_by_exit_code[found.exit_code_by_key[name]]}")
    print(get_diff_for_mutant(name, path=found.path))
"""


def write_survivors(work: Path, survivors: list[str]) -> Path:
    """Every surviving mutant with its diff, for reading (what `mutmut show` prints)."""
    report = work / "survivors.txt"
    with report.open("w") as out:
        subprocess.run([sys.executable, "-c", SHOW, *survivors], cwd=work, stdout=out, check=True)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="only the fast groups (merkle...)")
    parser.add_argument("--group", action="append", help="run only this group (repeatable)")
    parser.add_argument("--threshold", type=float, default=85.0, help="percent (default 85)")
    parser.add_argument("--max-children", type=int, default=2, help="parallel mutants")
    parser.add_argument("--budget", type=float, help="stop a group after so many seconds")
    parser.add_argument("--report-only", action="store_true", help="score the last run again")
    parser.add_argument("--keep", action="store_true", help="resume the last run's results")
    args = parser.parse_args()
    names = {g.name for g in GROUPS}
    if args.group and set(args.group) - names:
        parser.error(f"--group: unknown {sorted(set(args.group) - names)}; known: {sorted(names)}")
    groups = [
        g for g in GROUPS if (g.name in args.group if args.group else g.fast or not args.fast)
    ]

    overall, complete = Tally(), True
    for group in groups:
        work = WORK / group.name
        elapsed = 0.0
        finished = True
        if not args.report_only:
            work = prepare(group, fresh=not args.keep)
            print(f"== {group.name}: {', '.join(group.modules)}", flush=True)
            finished, elapsed = run_mutmut(group, work, args.max_children, args.budget)
        survivors: list[str] = []
        for module in group.modules:
            result, lost = tally(work, module)
            survivors += lost
            overall.add(result)
            complete &= finished and result.unchecked == 0 and result.checked > 0
            print(
                f"   {module:48} {result.score:5.1f} %  killed {result.killed}/{result.checked}"
                f"  survived {result.survived}  no tests {result.untested}"
                + (f"  NOT RUN {result.unchecked}" if result.unchecked else ""),
                flush=True,
            )
        if not args.report_only:
            state = "" if finished else f"  STOPPED after the {args.budget} s budget"
            print(f"   {group.name}: {elapsed:.0f} s{state}", flush=True)
        if survivors and work.exists():
            print(f"   survivors with diffs: {write_survivors(work, survivors)}", flush=True)

    verdict = "PASS" if overall.score >= args.threshold and complete else "FAIL"
    print(
        f"== overall {overall.score:.1f} % ({overall.killed}/{overall.checked} killed), "
        f"threshold {args.threshold:.0f} %: {verdict}"
        + ("" if complete else " (incomplete: some mutants were not run)")
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
