"""Leadership: exactly one process leads; when it goes, another takes over."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg

from hub.server.leader import AdvisoryLock, Election, FileLock, SoleLeader, leadership_for


async def test_only_one_of_two_file_locks_on_a_sqlite_database_leads(tmp_path: Path) -> None:
    first, second = FileLock(tmp_path / "hub.db.leader"), FileLock(tmp_path / "hub.db.leader")
    assert await first.try_acquire()
    assert not await second.try_acquire()
    await first.release()
    assert await second.try_acquire()
    assert await second.holds()
    await second.release()


async def test_only_one_of_two_advisory_locks_leads_and_a_dead_session_frees_it(
    pg_url: str,
) -> None:
    first, second = AdvisoryLock(pg_url), AdvisoryLock(pg_url)
    assert await first.try_acquire()
    assert await first.try_acquire(), "asking again while leading is still leading"
    assert not await second.try_acquire()
    # The leader's session dies (as with SIGKILL): the server drops the lock with it.
    admin = await asyncpg.connect(pg_url)
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    )
    await admin.close()
    assert not await first.holds()
    assert await second.try_acquire()
    await second.release()
    await first.release()


def test_the_leadership_follows_the_database() -> None:
    assert isinstance(leadership_for("postgresql://u@h/db"), AdvisoryLock)
    assert isinstance(leadership_for("sqlite:///hub.db"), FileLock)
    assert isinstance(leadership_for("sqlite:///:memory:"), SoleLeader)


class Flaky(SoleLeader):
    """A leadership that can be lost on demand."""

    def __init__(self) -> None:
        self.lost = False

    async def holds(self) -> bool:
        return not self.lost


async def test_an_election_runs_the_leader_work_only_while_leading() -> None:
    leadership, events = Flaky(), []
    running, gone = asyncio.Event(), asyncio.Event()

    async def lead() -> None:
        events.append("lead")
        running.set()
        try:
            await asyncio.Event().wait()
        finally:
            events.append("stopped")

    async def elected() -> None:
        events.append("elected")

    async def deposed() -> None:
        events.append("deposed")
        gone.set()

    election = Election(leadership, lead, elected, deposed, poll_seconds=0.01)
    task = asyncio.create_task(election.run())
    await asyncio.wait_for(running.wait(), 2)
    assert election.is_leader
    leadership.lost = True
    await asyncio.wait_for(gone.wait(), 2)  # polled every 0.01 s: deposed well within 2 s
    assert events[:4] == ["elected", "lead", "stopped", "deposed"]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
