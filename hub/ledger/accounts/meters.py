"""A meter's register history and the register values at interval boundaries.

Boundary rule (the same for the hub and every verifier):

- a reading exactly at the boundary is used as it is;
- otherwise the value is interpolated linearly between the last reading before and the first
  reading after the boundary, per register, rounded down (registers are integers in Wh), provided
  the two readings are at most `max_gap_ms` apart;
- with no reading after the boundary (not yet), no reading before it (the meter is younger than
  the interval) or a longer gap, the boundary is unknown and the home settles as unmetered.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right


class MeterTimeline:
    __slots__ = ("exports", "imports", "last_seq", "times")

    def __init__(self) -> None:
        self.times: list[int] = []
        self.imports: list[int] = []
        self.exports: list[int] = []
        self.last_seq: int | None = None

    @property
    def last(self) -> tuple[int, int, int] | None:
        if not self.times:
            return None
        return self.times[-1], self.imports[-1], self.exports[-1]

    def add(self, seq: int, ts: int, import_wh: int, export_wh: int) -> None:
        """Append a reading the caller has already checked (seq, time and registers advance)."""
        self.last_seq = seq
        self.times.append(ts)
        self.imports.append(import_wh)
        self.exports.append(export_wh)

    def reaches(self, ts: int) -> bool:
        return bool(self.times) and self.times[-1] >= ts

    def value_at(self, ts: int, max_gap_ms: int) -> tuple[int, int] | None:
        """(import_wh, export_wh) at `ts` by the boundary rule, or None when unknown."""
        times = self.times
        after = bisect_left(times, ts)
        if after < len(times) and times[after] == ts:
            return self.imports[after], self.exports[after]
        if after == 0 or after == len(times):
            return None
        before = after - 1
        t0, t1 = times[before], times[after]
        if t1 - t0 > max_gap_ms:
            return None
        i0, e0 = self.imports[before], self.exports[before]
        return (
            i0 + (self.imports[after] - i0) * (ts - t0) // (t1 - t0),
            e0 + (self.exports[after] - e0) * (ts - t0) // (t1 - t0),
        )

    def delta(self, start: int, end: int, max_gap_ms: int) -> tuple[int, int] | None:
        """(imported, exported) Wh between two boundaries, or None when either is unknown."""
        first = self.value_at(start, max_gap_ms)
        last = self.value_at(end, max_gap_ms)
        if first is None or last is None:
            return None
        return last[0] - first[0], last[1] - first[1]

    def prune_before(self, ts: int) -> None:
        """Forget readings before `ts` except the last one at or before it (a boundary needs it)."""
        keep_from = bisect_right(self.times, ts) - 1
        if keep_from > 0:
            del self.times[:keep_from]
            del self.imports[:keep_from]
            del self.exports[:keep_from]
