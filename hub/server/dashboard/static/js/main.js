// GridCoop dashboard: wires the sections to the hub's JSON and its live WebSocket.

import { initAdmin, renderAdmin } from "./admin.js";
import { api } from "./api.js";
import { chartNote, renderPriceChart, renderPriceTable } from "./chart.js";
import { $, fill, setText } from "./dom.js";
import {
  applyTranslations, currentLanguage, duration, energy, intervalLabel, loadLanguage, money,
  preferredLanguage, price, setContext, t, time, tp,
} from "./i18n.js";
import { connectLive } from "./live.js";
import { renderLevels, renderOrderBook, summaryText } from "./orderbook.js";
import { forgetDocument, initOptional, refreshOptional, renderOptionalAll } from "./optional.js";

const state = {
  info: null,
  overview: null,
  history: null,
  range: "24h",
  book: null, // the order book shown
  bookMissing: null, // interval start asked for but not cleared
  latestStart: null,
  followLatest: true,
  connection: "connecting",
};

function showLoadError(err) {
  const banner = $("#load-error");
  banner.hidden = false;
  banner.textContent = t("error.load", { detail: err.message });
}

// -- overview --------------------------------------------------------------------------------

function priceOrState(view) {
  if (!view.cleared) return t("price.not_cleared");
  return view.price === null ? t("price.no_trade") : price(view.price);
}

function renderOverview() {
  const o = state.overview;
  if (!o) return;
  setText("#homes-online", t("overview.homes_value", { online: o.homes.online, enrolled: o.homes.enrolled }));
  setText("#homes-detail", tp("overview.homes_detail", o.homes.enrolled, {
    online: o.homes.online, window: duration(o.homes.online_window_seconds),
  }));
  for (const [which, view] of [["now", o.current], ["next", o.next]]) {
    setText(`#price-${which}`, priceOrState(view));
    const interval = intervalLabel(view.interval_start, view.interval_end);
    setText(`#price-${which}-detail`, view.cleared
      ? tp("overview.interval_bids", view.participants, { interval })
      : t("overview.clears_at", { interval, time: time(view.gate_closure) }));
    setText(`#grid-${which}`, t("overview.grid", {
      retail: price(view.retail_price), feedin: price(view.feed_in_price),
    }));
  }
  setText("#volume-today", energy(o.today.volume_wh));
  setText("#volume-detail", tp("overview.trading_intervals", o.today.trading_intervals, {
    total: o.today.intervals,
  }));
  setText("#savings-today", money(o.today.savings_mminor));
  setText("#savings-detail", t("overview.savings_split", {
    buyers: money(o.today.buyers_saved_mminor), sellers: money(o.today.sellers_earned_mminor),
  }));
  setText("#savings-month", t("overview.savings_month", { amount: money(o.last_30_days.savings_mminor) }));
  setText("#market-mode", t(`market.${o.market_mode}`));
  setText("#market-detail", t("overview.market_detail", {
    interval: duration(o.interval_seconds), gate: duration(o.gate_closure_seconds),
    fee: price(o.fee_per_kwh), k: o.k_percent,
  }));
}

async function refreshOverview() {
  try {
    state.overview = await api("/api/v1/dashboard/overview");
    setContext({ currency: state.overview.currency, timezone: state.overview.timezone,
      intervalSeconds: state.overview.interval_seconds });
    renderOverview();
  } catch (err) {
    showLoadError(err);
  }
}

// -- price history ---------------------------------------------------------------------------

function renderHistory() {
  renderPriceChart($("#price-chart"), state.history);
  renderPriceTable($("#price-table tbody"), state.history);
  setText("#price-chart-note", chartNote(state.history));
}

async function refreshHistory() {
  const range = state.range;
  try {
    const history = await api(`/api/v1/dashboard/history?range=${range}`);
    if (range === state.range) {
      state.history = history;
      renderHistory();
    }
  } catch (err) {
    showLoadError(err);
  }
}

// -- order book ------------------------------------------------------------------------------

function renderBook() {
  const book = state.book;
  if (state.bookMissing !== null) {
    setText("#ob-summary", t("orderbook.not_cleared", {
      interval: intervalLabel(state.bookMissing, state.bookMissing + (state.info?.interval_seconds ?? 0), true),
    }));
    renderOrderBook($("#ob-chart"), null);
  } else {
    setText("#ob-summary", book ? summaryText(book) : t("orderbook.none"));
    renderOrderBook($("#ob-chart"), book);
  }
  renderLevels($("#demand-table tbody"), book?.demand ?? []);
  renderLevels($("#supply-table tbody"), book?.supply ?? []);
  const start = state.bookMissing ?? book?.interval_start;
  $("#ob-prev").disabled = start === undefined || start === null;
  $("#ob-next").disabled = start === undefined || start === null || start >= (state.latestStart ?? 0);
  $("#ob-latest").disabled = state.followLatest;
}

async function refreshBook(start = null) {
  try {
    const book = await api(start === null ? "/api/v1/market/orderbook" : `/api/v1/market/orderbook/${start}`);
    state.book = book;
    state.bookMissing = null;
    if (start === null || book.interval_start > (state.latestStart ?? 0)) state.latestStart = book.interval_start;
  } catch (err) {
    if (err.status !== 404) {
      showLoadError(err);
      return;
    }
    if (start === null) state.book = null;
    state.bookMissing = start;
  }
  renderBook();
}

function stepBook(direction) {
  const current = state.bookMissing ?? state.book?.interval_start;
  if (current === undefined || current === null) return;
  const length = state.book ? state.book.interval_end - state.book.interval_start : state.info.interval_seconds;
  state.followLatest = false;
  refreshBook(current + direction * length);
}

// -- live ------------------------------------------------------------------------------------

function onLiveMessage(message) {
  if (message.type !== "interval_cleared") return;
  const interval = message.interval;
  state.latestStart = Math.max(state.latestStart ?? 0, interval.interval_start);
  setText("#announcer", t("live.cleared", {
    interval: intervalLabel(interval.interval_start, interval.interval_end),
    price: interval.price === null ? t("price.no_trade") : price(interval.price),
  }));
  refreshOverview();
  refreshHistory();
  if (state.followLatest) refreshBook();
  else renderBook();
  refreshOptional();
}

function onLiveState(connection, { reconnected = false } = {}) {
  state.connection = connection;
  $("#connection").dataset.state = connection;
  setText("#connection-text", t(`live.${connection}`));
  if (reconnected) {
    refreshOverview();
    refreshHistory();
    if (state.followLatest) refreshBook();
    forgetDocument();
    refreshOptional();
  }
}

// -- start -----------------------------------------------------------------------------------

function renderAll() {
  applyTranslations();
  setText("#connection-text", t(`live.${state.connection}`));
  renderOverview();
  if (state.history) renderHistory();
  renderBook();
  renderOptionalAll();
  renderAdmin();
}

function watchWidth() {
  let pending = false;
  let lastWidth = 0;
  new ResizeObserver((entries) => {
    const width = Math.round(entries[0].contentRect.width);
    if (width === lastWidth || pending) return;
    lastWidth = width;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      if (state.history) renderPriceChart($("#price-chart"), state.history);
      if (state.book && state.bookMissing === null) renderOrderBook($("#ob-chart"), state.book);
    });
  }).observe($("#main"));
}

async function start() {
  await loadLanguage(preferredLanguage());
  $("#lang-select").value = currentLanguage();
  applyTranslations();
  try {
    state.info = await api("/api/v1/info");
    setContext({ currency: state.info.currency, timezone: state.info.timezone,
      intervalSeconds: state.info.interval_seconds });
    setText("#hub-version", `· GridCoop ${state.info.hub_version}`);
  } catch (err) {
    showLoadError(err);
  }

  $("#lang-select").addEventListener("change", async (event) => {
    await loadLanguage(event.target.value);
    renderAll();
  });
  for (const radio of document.querySelectorAll("input[name=range]")) {
    radio.addEventListener("change", () => {
      state.range = radio.value;
      refreshHistory();
    });
  }
  $("#ob-prev").addEventListener("click", () => stepBook(-1));
  $("#ob-next").addEventListener("click", () => stepBook(1));
  $("#ob-latest").addEventListener("click", () => {
    state.followLatest = true;
    refreshBook();
  });
  document.addEventListener("gridcoop:settings-changed", () => {
    refreshOverview();
    refreshHistory();
  });

  await Promise.all([refreshOverview(), refreshHistory(), refreshBook()]);
  document.body.dataset.ready = "true";
  initOptional();
  initAdmin();
  connectLive({ onMessage: onLiveMessage, onState: onLiveState });
  watchWidth();
  setInterval(refreshOverview, 30000);
}

start().catch((err) => showLoadError(err));
