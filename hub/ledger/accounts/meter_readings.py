"""Readings entries: every recorded reading obeys the reading rule that ingest applies too
(`gridcoop_home.protocol.reading_rules`), and extends its meter's timeline."""

from __future__ import annotations

from typing import Any

from gridcoop_home.ledger.entries import READING_FIELDS, Entry
from gridcoop_home.ledger.errors import LedgerError
from gridcoop_home.protocol import errors
from gridcoop_home.protocol.envelope import SignedMessage
from gridcoop_home.protocol.reading_rules import meter_key_problem, order_problem

from hub.ledger.accounts.fields import fail, str_field
from hub.ledger.accounts.meters import MeterTimeline
from hub.ledger.accounts.records import StateData

# A meter's last reading as checked so far: (seq, ts, import_wh, export_wh).
Checked = dict[str, tuple[int, int, int, int]]


def _first_unnatural(values: tuple[Any, ...]) -> str:
    for name, value in zip(("seq", "ts", "import_wh", "export_wh"), values, strict=True):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            return f"{name} must be a non-negative integer"
    return "not integers"


def _refused(n: int, problem: tuple[str, str]) -> LedgerError:
    reason, detail = problem
    return fail(reason, f"reading {n}: {detail}")


class MeterReadingRules(StateData):
    def _readings(self, entry: Entry, where: str) -> None:
        """Format 1: one home's readings."""
        home_id = str_field(entry, "home_id")
        rows = entry["readings"]
        if self.check_readings(self.height):
            self._check_readings(rows, home_id)
        self._add_readings(rows)

    def _meter_readings(self, entry: Entry, where: str) -> None:
        """Format 2: a table of readings from any homes' meters."""
        if entry["fields"] != list(READING_FIELDS):
            raise fail(errors.INVALID_ENTRY, f"meter_readings fields must be {READING_FIELDS}")
        rows = entry["rows"]
        if self.check_readings(self.height):
            self._check_readings(rows, None)
        self._add_readings(rows)

    def split_readings(
        self, rows: list[list[Any]]
    ) -> tuple[list[list[Any]], list[tuple[list[Any], LedgerError]]]:
        """(rows a readings entry may hold now, [(refused row, why)]): one bad reading must not
        keep the rest of a block's readings out of the ledger."""
        accepted: list[list[Any]] = []
        refused: list[tuple[list[Any], LedgerError]] = []
        checked: Checked = {}
        for row in rows:
            try:
                self._check_readings([row], None, checked)
            except LedgerError as err:
                refused.append((row, err))
            except (ValueError, TypeError) as err:
                refused.append((row, fail(errors.INVALID_ENTRY, f"malformed reading: {err!r}")))
            else:
                accepted.append(row)
        return accepted, refused

    def _check_readings(
        self, rows: Any, home_id: str | None, checked: Checked | None = None
    ) -> None:
        """Every row (key_id, seq, ts, import_wh, export_wh, sig) is an enrolled meter's next
        reading by the reading rule, with a valid meter signature (optional). `checked` holds
        each meter's last reading checked so far (not yet in its timeline)."""
        if not isinstance(rows, list) or not rows:
            raise fail(errors.INVALID_ENTRY, "readings must be a non-empty list")
        keys, timelines, check_signatures = self.keys, self.timelines, self.check_meter_signatures
        key_problem, reading_order_problem = meter_key_problem, order_problem  # locals: hot loop
        if checked is None:
            checked = {}
        for n, row in enumerate(rows):
            key_id, seq, ts, import_wh, export_wh, sig = row
            key = keys.get(key_id)
            problem = key_problem(key_id, key, home_id)
            if problem is not None:
                raise _refused(n, problem)
            assert key is not None  # the rule refuses a key that is not enrolled
            values = (seq, ts, import_wh, export_wh)
            if not (
                type(seq) is int
                and type(ts) is int
                and type(import_wh) is int
                and type(export_wh) is int
                and min(values) >= 0
            ):
                raise fail(errors.INVALID_ENTRY, f"reading {n}: {_first_unnatural(values)}")
            last = checked.get(key_id)
            if last is None:
                timeline = timelines.get(key_id)
                if timeline is not None and timeline.last_seq is not None:
                    last = (
                        timeline.last_seq,
                        timeline.times[-1],
                        timeline.imports[-1],
                        timeline.exports[-1],
                    )
            problem = reading_order_problem(last, seq, ts, import_wh, export_wh)
            if problem is not None:
                raise _refused(n, problem)
            if check_signatures and not SignedMessage(
                "reading", key_id, seq, ts, {"import_wh": import_wh, "export_wh": export_wh}, sig
            ).signature_valid(key.public_key):
                raise fail(errors.BAD_SIGNATURE, f"reading {n}: meter signature does not verify")
            checked[key_id] = values

    def _add_readings(self, rows: list[list[Any]]) -> None:
        timelines = self.timelines
        for key_id, seq, ts, import_wh, export_wh, _sig in rows:
            timeline = timelines.get(key_id)
            if timeline is None:
                timeline = timelines[key_id] = MeterTimeline()
            timeline.last_seq = seq  # MeterTimeline.add, inlined: a block holds hundreds
            timeline.times.append(ts)
            timeline.imports.append(import_wh)
            timeline.exports.append(export_wh)
