"""The integration's data: the home (devices, plan, dispatch), the hub's market and its ledger.

Three coordinators, one job each. They hold data and fetch it; the home loop (loop.py) does
everything that acts: read, upload, plan, bid, dispatch, on a schedule aligned to the market's
interval boundaries.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from gridcoop_home.client.api import HubApi, Pushed
from gridcoop_home.client.errors import HomeRefused, HubError, HubUnreachable, LedgerDisabled
from gridcoop_home.client.ledger import Account, LedgerClient
from gridcoop_home.client.models import ClearedInterval, HubInfo, TariffSlot
from gridcoop_home.planner import Plan
from gridcoop_home.protocol.allocation import Allocation
from gridcoop_home.protocol.dispatch import DispatchCommand
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .book import AllocationBook
from .const import (
    CONF_HOME_ID,
    CONF_URL,
    DEFAULT_OUTAGE_MINUTES,
    DOMAIN,
    ISSUE_HUB_UNREACHABLE,
    LOGGER,
    OPT_OUTAGE_MINUTES,
    PROTOCOL_VERSION,
)
from .ledger_trust import LedgerTrust, raise_trust_issues
from .sources import DeviceSnapshot

if TYPE_CHECKING:
    from .data import GridCoopConfigEntry

PUSH_POLL_INTERVAL = timedelta(minutes=5)  # while the WebSocket pushes, polling only double-checks
KEEP_INTERVALS = 96


# -- the home ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HomeState:
    snapshots: dict[str, DeviceSnapshot] = field(default_factory=dict)
    plan: Plan | None = None
    plan_start: datetime | None = None
    plan_error: str | None = None
    backlog: int = 0
    last_bid: int | None = None  # the interval the last accepted bid was for
    # What each device was told for the interval under way (asset tag -> command).
    dispatch: dict[str, DispatchCommand] = field(default_factory=dict)
    dispatch_interval: int | None = None


class HomeCoordinator(DataUpdateCoordinator[HomeState]):
    """Holds the home's state; the home loop pushes every change (no polling)."""

    config_entry: GridCoopConfigEntry

    def __init__(self, hass: HomeAssistant, entry: GridCoopConfigEntry) -> None:
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} home")
        self.data = HomeState()

    async def _async_update_data(self) -> HomeState:
        return self.data

    @callback
    def update(self, **changes: object) -> None:
        self.async_set_updated_data(replace(self.data, **changes))  # type: ignore[arg-type]


# -- the market --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarketData:
    info: HubInfo
    tariffs: tuple[TariffSlot, ...]
    intervals: dict[int, ClearedInterval] = field(default_factory=dict)  # by interval start
    allocations: dict[int, Allocation] = field(default_factory=dict)

    @property
    def interval_seconds(self) -> int:
        return self.info.interval_seconds

    def cleared_price(self, interval_start: int) -> int | None:
        interval = self.intervals.get(interval_start)
        return None if interval is None else interval.price

    def grid_prices(self, interval_start: int) -> tuple[int, int]:
        """(retail, feed-in) for an interval: its cleared result, else the tariff, else now."""
        if (interval := self.intervals.get(interval_start)) is not None:
            return interval.retail_price, interval.feed_in_price
        for slot in self.tariffs:
            if slot.interval_start == interval_start:
                return slot.retail_price, slot.feed_in_price
        return self.info.retail_price, self.info.feed_in_price

    def with_interval(self, interval: ClearedInterval) -> MarketData:
        intervals = {**self.intervals, interval.interval_start: interval}
        return replace(self, intervals=_newest(intervals))

    def with_allocation(self, allocation: Allocation) -> MarketData:
        allocations = {**self.allocations, allocation.interval_start: allocation}
        return replace(self, allocations=_newest(allocations))


def _newest[T](by_start: dict[int, T]) -> dict[int, T]:
    return dict(sorted(by_start.items())[-KEEP_INTERVALS:])


class MarketCoordinator(DataUpdateCoordinator[MarketData]):
    """The hub's market: polled, and pushed over the WebSocket (hub_link.HubStream).

    Outage: the first failed poll makes the market entities unavailable; a repair issue appears
    once the hub has been silent for the configured minutes (a timer, not the next poll).
    """

    config_entry: GridCoopConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridCoopConfigEntry,
        api: HubApi,
        book: AllocationBook,
        poll_interval: timedelta,
    ) -> None:
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} market", update_interval=poll_interval
        )
        self.api = api
        self.book = book
        self._poll_interval = poll_interval
        self.stream_connected = False
        self.down_since: datetime | None = None
        self._repair_timer: CALLBACK_TYPE | None = None

    @property
    def hub_up(self) -> bool:
        return self.data is not None and self.last_update_success

    async def _async_update_data(self) -> MarketData:
        try:
            info = await self.api.info()
            tariffs = await self.api.tariffs(KEEP_INTERVALS)
            intervals = await self.api.intervals(limit=KEEP_INTERVALS)
            allocations = await self.api.results(limit=KEEP_INTERVALS)
        except HomeRefused as err:
            raise ConfigEntryAuthFailed(
                translation_domain=DOMAIN, translation_key="home_revoked"
            ) from err
        except HubUnreachable as err:
            self._note_outage()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="hub_unreachable",
                translation_placeholders={"url": self.api.base_url},
            ) from err
        except HubError as err:
            self._note_outage()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="hub_error",
                translation_placeholders={"reason": err.reason},
            ) from err
        if info.protocol_version != PROTOCOL_VERSION:
            self._note_outage()
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="incompatible_hub",
                translation_placeholders={"version": str(info.protocol_version)},
            )
        self._note_recovery()
        # What the socket pushed stays (a poll may run before the hub lists it).
        known = self.data
        data = MarketData(
            info=info,
            tariffs=tariffs,
            intervals=_newest(
                {**(known.intervals if known else {}), **{i.interval_start: i for i in intervals}}
            ),
            allocations=_newest(
                {
                    **(known.allocations if known else {}),
                    **{a.interval_start: a for a in allocations},
                }
            ),
        )
        self._book(data)
        return data

    # -- push ----------------------------------------------------------------------------------

    def set_stream_connected(self, connected: bool) -> None:
        """While the WebSocket is up, poll rarely; when it drops, the stream polls at once."""
        self.stream_connected = connected
        self.update_interval = PUSH_POLL_INTERVAL if connected else self._poll_interval

    @callback
    def apply_push(self, pushed: Pushed) -> None:
        if self.data is None:
            return  # not set up yet: the first poll fetches everything anyway
        if pushed.interval is not None:
            self.async_set_updated_data(self.data.with_interval(pushed.interval))
        if pushed.allocation is not None:
            data = self.data.with_allocation(pushed.allocation)
            self._book(data)
            self.async_set_updated_data(data)

    def _book(self, data: MarketData) -> None:
        """Count every allocation in the home's own book once, before any entity reads it."""
        for start, allocation in sorted(data.allocations.items()):
            self.book.add(allocation, *data.grid_prices(start))

    # -- outage --------------------------------------------------------------------------------

    def _note_outage(self) -> None:
        if self.down_since is not None:
            return
        self.down_since = dt_util.utcnow()
        minutes = self.config_entry.options.get(OPT_OUTAGE_MINUTES, DEFAULT_OUTAGE_MINUTES)
        if minutes <= 0:
            self._raise_repair(self.down_since)
            return
        self._repair_timer = async_call_later(
            self.hass, timedelta(minutes=minutes), self._raise_repair
        )

    @callback
    def _raise_repair(self, _now: datetime) -> None:
        self._repair_timer = None
        if self.down_since is None:
            return
        minutes = self.config_entry.options.get(OPT_OUTAGE_MINUTES, DEFAULT_OUTAGE_MINUTES)
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            ISSUE_HUB_UNREACHABLE.format(self.config_entry.entry_id),
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="hub_unreachable",
            translation_placeholders={
                "url": self.config_entry.data[CONF_URL],
                "minutes": str(minutes),
            },
        )

    def _note_recovery(self) -> None:
        if self.down_since is None:
            return
        self.down_since = None
        if self._repair_timer is not None:
            self._repair_timer()
            self._repair_timer = None
        ir.async_delete_issue(
            self.hass, DOMAIN, ISSUE_HUB_UNREACHABLE.format(self.config_entry.entry_id)
        )

    async def async_shutdown(self) -> None:
        if self._repair_timer is not None:
            self._repair_timer()
            self._repair_timer = None
        await super().async_shutdown()


# -- the ledger --------------------------------------------------------------------------------

DEFAULT_TOKEN_UNIT_WH = 100


@dataclass(frozen=True, slots=True)
class LedgerData:
    account: Account | None  # None: the hub keeps no ledger
    token_unit_wh: int = DEFAULT_TOKEN_UNIT_WH
    height: int | None = None
    final_height: int | None = None
    last_settled: int | None = None  # start of the latest interval settled in a final block
    settlement_deadline_s: int | None = None  # how long after an interval the hub settles it
    proof: str | None = None  # the light client's verdict: ok, pending, fork, unprovable...
    proof_reason: str | None = None


NO_LEDGER = LedgerData(account=None)


class LedgerCoordinator(DataUpdateCoordinator[LedgerData]):
    """This home's tokens, certificates and settled balance on the hub's ledger, each poll
    checked by the home's light client (ledger_trust.py): a fork, a balance the hub cannot prove
    or new validators become repair issues.

    Polled once per market interval and whenever an interval clears (the hub seals a block
    right after), never faster. A hub without a ledger is noticed once: the token entities are
    then not created (at setup) or unavailable (if the hub drops its ledger later).
    """

    config_entry: GridCoopConfigEntry

    def __init__(
        self,
        hass: HomeAssistant,
        entry: GridCoopConfigEntry,
        client: LedgerClient,
        trust: LedgerTrust,
        interval: timedelta,
    ) -> None:
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} ledger", update_interval=interval
        )
        self.client = client
        self.trust = trust

    @property
    def enabled(self) -> bool | None:
        """True/False once the hub answered whether it keeps a ledger; None before."""
        return None if self.data is None else self.data.account is not None

    @property
    def token_unit_wh(self) -> int:
        return self.data.token_unit_wh if self.data is not None else DEFAULT_TOKEN_UNIT_WH

    async def _async_update_data(self) -> LedgerData:
        home = self.config_entry.data[CONF_HOME_ID]
        try:
            head = await self.client.head()
            report = await self.trust.async_check(self.client, head)
            answer = report.account or await self.client.home_account()
        except LedgerDisabled:
            if self.enabled is not False:  # said once
                LOGGER.info(
                    "The hub %s keeps no token ledger: token and certificate entities are off",
                    self.client.hub.base_url,
                )
            return NO_LEDGER
        except HubUnreachable as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="hub_unreachable",
                translation_placeholders={"url": self.client.hub.base_url},
            ) from err
        except HubError as err:
            if err.reason != "unknown_account":
                raise UpdateFailed(
                    translation_domain=DOMAIN,
                    translation_key="hub_error",
                    translation_placeholders={"reason": err.reason},
                ) from err
            # The hub has not recorded the home's enrolment in a block yet: nothing to prove.
            report, answer = None, {"account": {"home_id": home, "recorded": False}}
        if report is not None:
            raise_trust_issues(self.hass, self.config_entry, report)
        deadline = head.get("settlement_deadline_seconds")
        return LedgerData(
            account=_account_of(answer, home),
            token_unit_wh=int(head.get("token_unit_wh", DEFAULT_TOKEN_UNIT_WH)),
            height=int(head["height"]),
            final_height=head.get("final_height"),
            last_settled=_last_settled(answer),
            settlement_deadline_s=deadline if isinstance(deadline, int) else None,
            proof="pending" if report is None else report.worst.status,
            proof_reason=None if report is None else report.worst.reason,
        )


def _account_of(answer: dict[str, Any], home: str) -> Account:
    account = answer.get("account") or {}
    if account.get("recorded") is False:
        return Account(home_id=home, recorded=False)
    return Account.from_wire(account)


def _last_settled(answer: dict[str, Any]) -> int | None:
    """The interval of the home's latest final settlement, from the hub's account answer."""
    settlement = answer.get("settlement") or {}
    entry = settlement.get("entry") if isinstance(settlement, dict) else None
    start = entry.get("interval_start") if isinstance(entry, dict) else None
    return start if isinstance(start, int) else None
