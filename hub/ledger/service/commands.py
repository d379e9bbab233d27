"""The `verify` and `witness` commands (wired into `python -m hub` by hub.cli)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
from gridcoop_home.ledger.bls import get_backend
from gridcoop_home.ledger.keyfile import load_or_create_key
from gridcoop_home.protocol.keys import SigningKey

from hub.ledger.chain.audit import Auditor, AuditReport, audit_export, holdings_problems
from hub.ledger.chain.chain import ChainBlock
from hub.ledger.chain.export import ExportError
from hub.ledger.service.sealer import signed_header_of
from hub.ledger.service.witness import Witness, WitnessHalted

_LOGGER = logging.getLogger("hub.ledger")
EXIT_OK, EXIT_BAD, EXIT_ERROR, EXIT_HALTED = 0, 1, 2, 3

Rows = AsyncIterator[tuple[dict[str, Any], list[tuple[str, str]]]]


def _print_report(report: AuditReport, seconds: float, backend: str) -> None:
    print(report.message)
    if report.not_final:
        more = " ..." if len(report.not_final) >= 20 else ""
        print(f"not final yet: blocks {report.not_final}{more}")
    print(f"{report.blocks} blocks, {report.entries} entries in {seconds:.2f} s (BLS: {backend})")


def verify_export(path: Path, backend_name: str, meter_signatures: bool) -> int:
    backend = get_backend(backend_name)
    started = time.perf_counter()
    try:
        report = audit_export(path, backend, meter_signatures)
    except (OSError, ExportError) as err:
        print(f"cannot read {path}: {err}")
        return EXIT_ERROR
    _print_report(report, time.perf_counter() - started, backend.name)
    return EXIT_OK if report.ok else EXIT_BAD


async def verify_rows(
    rows: Rows,
    holdings: Callable[[], Awaitable[list[dict[str, Any]]]],
    backend_name: str,
    meter_signatures: bool,
) -> int:
    """Audit a database's chain, then compare its holdings table with the entries."""
    backend = get_backend(backend_name)
    started = time.perf_counter()
    auditor = Auditor(backend, meter_signatures)
    async for row, entries in rows:
        block = ChainBlock(
            signed_header_of(row),
            [data.encode() for _hash, data in entries],
            [hash_ for hash_, _data in entries],
        )
        if not auditor.feed(block):
            break
    report = auditor.finish()
    problems = holdings_problems(report.state, await holdings()) if report.ok else []
    if problems:
        report.problem = "stored holdings disagree with the entries: " + "; ".join(problems[:5])
        report.bad_block = report.blocks - 1
    _print_report(report, time.perf_counter() - started, backend.name)
    return EXIT_OK if report.ok else EXIT_BAD


async def run_witness(
    hub_url: str,
    key_file: Path,
    home_key_file: Path | None,
    name: str,
    poll_seconds: float,
    backend_name: str,
) -> int:
    secret = load_or_create_key(key_file)
    home_key = SigningKey.from_text(home_key_file.read_text().strip()) if home_key_file else None
    backend = get_backend(backend_name)
    async with aiohttp.ClientSession() as session:
        witness = Witness(session, hub_url, secret, backend, home_key, name)
        print(f"witness {name}: BLS key {witness.public_key.hex()[:24]}... ({backend.name})")
        try:
            await witness.run(poll_seconds)
        except WitnessHalted as err:
            print(f"witness halted, refusing to sign: {err}")
            return EXIT_HALTED
        except asyncio.CancelledError:
            return EXIT_OK
    return EXIT_OK
