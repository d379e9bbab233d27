"""Reading ingest: what the hub does with a home's upload of signed meter readings.

The upload route (`POST /api/v1/readings`) and the simulator both call `ingest`: every item
gets its own verdict (accepted, duplicate or rejected with a reason, see
gridcoop_home.protocol.reading_rules) and only accepted items are stored, all in one
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage, parse_signed_message
from gridcoop_home.protocol.errors import ProtocolError
from gridcoop_home.protocol.reading_rules import ACCEPTED, DUPLICATE, REJECTED, Verdict

from hub.config import HubConfig
from hub.service.signatures import SignatureCheck, check_signatures
from hub.store import Store
from hub.store.records import RequestSequence

Item = SignedMessage | ProtocolError  # a parsed reading, or why it could not be parsed


@dataclass(frozen=True, slots=True)
class IngestResult:
    """The verdict on every item of an upload, in upload order."""

    verdicts: list[Verdict]

    def count(self, status: str) -> int:
        return sum(1 for verdict in self.verdicts if verdict.status == status)

    def to_wire(self) -> dict[str, Any]:
        """The upload's answer (schema ReadingBatchResult)."""
        return {
            "results": [verdict.to_wire(i) for i, verdict in enumerate(self.verdicts)],
            "accepted": self.count(ACCEPTED),
            "duplicates": self.count(DUPLICATE),
            "rejected": self.count(REJECTED),
        }


def parse_upload(body: Any, max_batch: int) -> list[Item]:
    """An upload's readings, each parsed on its own: a malformed one becomes its own rejection
    and does not spoil the others. A body that is not a batch raises."""
    if not isinstance(body, dict) or not isinstance(body.get("readings"), list):
        raise ProtocolError(errors.MALFORMED, 'body must be {"readings": [signed readings]}')
    readings: list[Any] = body["readings"]
    if not readings:
        raise ProtocolError(errors.MALFORMED, "readings must not be empty")
    if len(readings) > max_batch:
        raise ProtocolError(
            errors.OUT_OF_BOUNDS, f"{len(readings)} readings in one batch, at most {max_batch}"
        )
    items: list[Item] = []
    for entry in readings:
        try:
            items.append(parse_signed_message(entry, "reading"))
        except ProtocolError as err:
            items.append(err)
    return items


async def ingest(
    store: Store,
    config: HubConfig,
    home_id: str,
    items: Sequence[Item],
    now_ms: int,
    *,
    signatures: SignatureCheck = check_signatures,
    request: RequestSequence | None = None,
) -> IngestResult:
    """Check the readings' signatures, then judge and store the batch in one transaction.

    With `request`, the upload's request sequence is accepted in that same transaction (a
    refused request raises and stores nothing; see Store.ingest_readings)."""
    signature_ok = await signatures(store, items)
    verdicts = await store.ingest_readings(
        home_id, items, signature_ok, now_ms, config.reading_window, request=request
    )
    return IngestResult(verdicts)
