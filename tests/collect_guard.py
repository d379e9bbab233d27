"""A pytest plugin for scripts/test (`-p tests.collect_guard`): a run that collects nothing fails.

pytest ends with status 5 both when it found no tests and when `-k`/`-m` deselected them all, and
scripts/test hands its arguments to every run, so the status alone cannot tell a missing test
environment (a plugin not installed, a conftest that ignores every file, a wrong path) from a
narrow `-k`. This plugin counts the tests collected before any deselection: none at all fails the
run (status 1, with the reason); some collected but all deselected by the caller passes (0).
"""

from __future__ import annotations

import pytest

COLLECTED = pytest.StashKey[int]()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    config.stash[COLLECTED] = len(items)  # before -k/-m deselect any


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus != pytest.ExitCode.NO_TESTS_COLLECTED:
        return
    if session.config.stash.get(COLLECTED, 0) == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = (
            "collect_guard: this run collected no tests at all; is its test environment "
            "complete (its pytest plugins installed, its paths right)?"
        )
        if reporter is not None:
            reporter.write_line(message, red=True, bold=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        session.exitstatus = pytest.ExitCode.OK  # the caller's -k/-m chose none of them here
