"""The `verify` and `witness` commands (wired into `python -m hub` by hub.cli)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import aiohttp
from gridcoop_home.agent.keyfile import KeyFileError, read_home_key
from gridcoop_home.client.hub import HubClient
from gridcoop_home.ledger.bls import get_backend
from gridcoop_home.ledger.heads import Equivocation, SignedHead
from gridcoop_home.ledger.keyfile import load_or_create_key

from hub.ledger.chain.audit import Auditor, AuditReport, audit_export, holdings_problems
from hub.ledger.chain.chain import ChainBlock
from hub.ledger.chain.export import ExportError
from hub.ledger.chain.heads import head_problems
from hub.ledger.service.sealer import signed_header_of
from hub.ledger.service.witness import Witness, WitnessHalted
from hub.ledger.service.witness_http import serve_witness
from hub.ledger.service.witness_store import StoreConflict, WitnessStore, default_data_dir

_LOGGER = logging.getLogger("hub.ledger")
EXIT_OK, EXIT_BAD, EXIT_ERROR, EXIT_HALTED = 0, 1, 2, 3
HEADS_TIMEOUT_S = 30

Rows = AsyncIterator[tuple[dict[str, Any], list[tuple[str, str]]]]


class HeadsError(ValueError):
    """A --heads source cannot be read; the message names it."""


def _print_report(
    report: AuditReport, seconds: float, backend: str, details: Sequence[str] = ()
) -> None:
    print(report.message)
    for line in details:
        print(line)
    if report.not_final:
        more = " ..." if len(report.not_final) >= 20 else ""
        print(f"not final yet: blocks {report.not_final}{more}")
    print(f"{report.blocks} blocks, {report.entries} entries in {seconds:.2f} s (BLS: {backend})")


# -- signed heads (--heads FILE or URL) -----------------------------------------------------------


def heads_of(document: Any, source: str) -> list[SignedHead]:
    """The signed heads in one JSON document: a head record or block, a list of them,
    {"heads": [...]} (a witness), {"blocks": [...]} (a hub's block list) or
    {"equivocations": [...]} (both headers of each proof)."""
    if isinstance(document, list):
        return [head for item in document for head in heads_of(item, source)]
    if not isinstance(document, dict):
        raise ValueError("expected a JSON object or list")
    for key in ("heads", "blocks"):
        if key in document:
            return heads_of(document[key], source)
    if "equivocations" in document:
        proofs = [Equivocation.from_wire(item) for item in document["equivocations"]]
        return [
            SignedHead(signed, proof.chain_id, proof.genesis_hash, proof.reporter or source)
            for proof in proofs
            for signed in (proof.first, proof.second)
        ]
    return [SignedHead.from_wire(document, source)]


def load_heads(sources: Sequence[str]) -> list[SignedHead]:
    """Heads from files (JSON lines, or one JSON document) and URLs (a witness's /heads or
    /equivocations, a hub's /api/v1/ledger/blocks or /equivocations)."""
    heads: list[SignedHead] = []
    for source in sources:
        try:
            if source.startswith(("http://", "https://")):
                heads += heads_of(_fetch_json(source), source)
            else:
                heads += _read_heads_file(Path(source))
        except (OSError, ValueError, KeyError, TypeError) as err:  # URLError is an OSError
            raise HeadsError(f"cannot read signed heads from {source}: {err}") from err
    return heads


def _fetch_json(url: str) -> Any:
    """A plain GET: the command runs before (and apart from) any event loop."""
    with urllib.request.urlopen(url, timeout=HEADS_TIMEOUT_S) as response:
        return json.loads(response.read())


def _read_heads_file(path: Path) -> list[SignedHead]:
    text = path.read_text()
    try:
        return heads_of(json.loads(text), str(path))
    except json.JSONDecodeError:
        pass  # JSON lines
    heads = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                heads += heads_of(json.loads(line), f"{path}:{number}")
            except ValueError as err:
                raise ValueError(f"line {number}: {err}") from err
    return heads


def _heights(heads: Sequence[SignedHead]) -> set[int]:
    return {0, *(head.height for head in heads)} if heads else set()


def _check_heads(report: AuditReport, heads: Sequence[SignedHead], backend_name: str) -> list[str]:
    """Fail the report on the lowest head that does not match its chain; a line for each."""
    if not heads or not report.ok:
        return []
    problems = head_problems(heads, report.hashes, report.state, get_backend(backend_name))
    if problems:
        report.problem = f"a signed head differs from this chain: {problems[0]}"
        report.bad_block = problems[0].height
        return [f"signed head differs: {problem}" for problem in problems]
    sources = sorted({head.source for head in heads})
    return [f"{len(heads)} signed heads from {len(sources)} sources match this chain"]


# -- verify -------------------------------------------------------------------------------------


def verify_export(
    path: Path, backend_name: str, meter_signatures: bool, heads: Sequence[SignedHead] = ()
) -> int:
    backend = get_backend(backend_name)
    started = time.perf_counter()
    try:
        report = audit_export(path, backend, meter_signatures, keep_hashes=_heights(heads))
    except (OSError, ExportError) as err:
        print(f"cannot read {path}: {err}")
        return EXIT_ERROR
    details = _check_heads(report, heads, backend_name)
    _print_report(report, time.perf_counter() - started, backend.name, details)
    return EXIT_OK if report.ok else EXIT_BAD


async def verify_rows(
    rows: Rows,
    holdings: Callable[[], Awaitable[list[dict[str, Any]]]],
    backend_name: str,
    meter_signatures: bool,
    heads: Sequence[SignedHead] = (),
    equivocations: Callable[[], Awaitable[list[dict[str, Any]]]] | None = None,
) -> int:
    """Audit a database's chain, compare its holdings table with the entries, its blocks with
    the signed heads given, and report the equivocation proofs the hub holds."""
    backend = get_backend(backend_name)
    started = time.perf_counter()
    auditor = Auditor(backend, meter_signatures, keep_hashes=_heights(heads))
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
    details = _check_heads(report, heads, backend_name)
    proofs = await equivocations() if equivocations is not None and report.ok else []
    if proofs:
        report.problem = (
            f"the hub holds {len(proofs)} equivocation proof(s): it signed two different blocks "
            f"at height {proofs[0]['height']}"
        )
        report.bad_block = int(proofs[0]["height"])
    _print_report(report, time.perf_counter() - started, backend.name, details)
    return EXIT_OK if report.ok else EXIT_BAD


# -- witness ------------------------------------------------------------------------------------


def parse_listen(text: str) -> tuple[str, int] | None:
    """`HOST:PORT` for the witness's endpoint, or None for `off`."""
    if text == "off":
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ValueError(f"--listen takes HOST:PORT or off, not {text!r}")
    return host, int(port)


async def run_witness(
    hub_url: str,
    key_file: Path,
    home_key_file: Path | None,
    name: str,
    poll_seconds: float,
    backend_name: str,
    data_dir: Path | None = None,
    listen: tuple[str, int] | None = ("127.0.0.1", 8790),
    trust_hub_history: bool = False,
) -> int:
    secret = load_or_create_key(key_file)
    try:
        home_key = read_home_key(home_key_file) if home_key_file else None
    except KeyFileError as err:
        print(f"cannot use --home-key: {err}")
        return EXIT_ERROR
    backend = get_backend(backend_name)
    folder = data_dir or default_data_dir(key_file)
    try:
        store = WitnessStore.open(folder, backend.secret_to_public(secret))
    except StoreConflict as err:
        print(f"cannot use {folder}: {err}")
        return EXIT_ERROR
    try:
        async with aiohttp.ClientSession() as session:
            client = HubClient(session, hub_url, home_key=home_key)
            witness = Witness(client, secret, store, backend, name, trust_hub_history)
            print(f"witness {name}: BLS key {witness.public_key.hex()[:24]}... ({backend.name})")
            print(f"witness {name}: memory in {folder}")
            runner = None
            if listen is not None:
                runner, url = await serve_witness(witness, *listen)
                print(f"witness {name}: serving {url}/status, /heads and /equivocations")
            try:
                return await _follow(
                    witness, poll_seconds, register=home_key is not None, serving=runner is not None
                )
            finally:
                if runner is not None:
                    await runner.cleanup()
    finally:
        store.close()


async def _follow(witness: Witness, poll_seconds: float, register: bool, serving: bool) -> int:
    try:
        await witness.run(poll_seconds, register)
    except WitnessHalted as err:
        print(f"witness halted, refusing to sign: {err}")
        if not witness.equivocations():
            return EXIT_HALTED
        print("witness: keeping the equivocation proof on offer to the hub and on its endpoint")
        try:
            await witness.keep_publishing(poll_seconds)
            print("witness: the hub acknowledged every equivocation proof")
            if serving:
                await asyncio.Event().wait()  # keep serving the endpoint until stopped
        except asyncio.CancelledError:
            pass
        return EXIT_HALTED
    except asyncio.CancelledError:
        return EXIT_OK
    return EXIT_OK
