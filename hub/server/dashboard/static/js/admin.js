// The admin area: sign in with the admin token (kept for this browser tab only), invite homes,
// list and revoke homes or single keys, edit tariffs, fee and k, and the interval settings;
// download the monthly statements (the community summary or one home's) as CSV.

import { api } from "./api.js";
import { $, fill, h, setText } from "./dom.js";
import { dateTime, duration, t } from "./i18n.js";

const TOKEN_KEY = "gridcoop.adminToken";
const INTERVAL_CHOICES = [300, 600, 900];
const state = { token: null, settings: null, homes: null, invite: null };

function errorText(err) {
  const known = t(`error.${err.reason}`);
  const reason = known === `error.${err.reason}` ? t("error.generic") : known;
  return err.detail ? `${reason} (${err.detail})` : reason;
}

async function adminApi(path, options = {}) {
  try {
    return await api(path, { ...options, token: state.token });
  } catch (err) {
    if (err.status === 401) signOut(t("admin.expired"));
    throw err;
  }
}

// -- sign in ---------------------------------------------------------------------------------

async function signIn(token) {
  try {
    state.settings = await api("/api/v1/admin/settings", { token });
  } catch (err) {
    sessionStorage.removeItem(TOKEN_KEY);
    setText("#login-error", err.status === 401 ? t("admin.refused") : errorText(err));
    return;
  }
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  setText("#login-error", "");
  $("#login-form").hidden = true;
  $("#admin-panel").hidden = false;
  $("#admin-token").value = "";
  renderSettings();
  await loadHomes();
}

function signOut(message = "") {
  state.token = null;
  state.settings = state.homes = state.invite = null;
  sessionStorage.removeItem(TOKEN_KEY);
  $("#admin-panel").hidden = true;
  $("#login-form").hidden = false;
  fill($("#invite-result"));
  setText("#login-error", message);
}

// -- homes -----------------------------------------------------------------------------------

function confirmAction(text) {
  const dialog = $("#confirm-dialog");
  setText("#confirm-text", text);
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.returnValue = "";
    dialog.showModal();
  });
}

async function loadHomes() {
  setText("#homes-error", "");
  try {
    state.homes = await adminApi("/api/v1/admin/homes");
  } catch (err) {
    if (state.token) setText("#homes-error", errorText(err));
    return;
  }
  renderHomes();
  renderStatementHomes();
  setText("#homes-status", t("homes.loaded", { count: state.homes.homes.length }));
}

function statusBadge(home) {
  if (home.revoked) return h("span", { class: "badge badge-danger" }, t("homes.revoked"));
  if (home.online) return h("span", { class: "badge badge-ok" }, t("homes.online"));
  return h("span", { class: "badge badge-off" }, t("homes.offline"));
}

async function revoke(kind, id, label) {
  const ok = await confirmAction(t(`confirm.${kind}`, { name: label }));
  if (!ok) return;
  try {
    await adminApi(`/api/v1/admin/${kind === "home" ? "homes" : "keys"}/${id}/revoke`, { method: "POST" });
    setText("#homes-status", t(`homes.revoked_${kind}`, { name: label }));
  } catch (err) {
    setText("#homes-error", errorText(err));
  }
  await loadHomes();
}

function renderHomes() {
  const homes = state.homes?.homes ?? [];
  const tbody = $("#homes-table tbody");
  if (!homes.length) {
    fill(tbody, h("tr", {}, h("td", { colspan: 6 }, t("homes.none"))));
    return;
  }
  fill(tbody, homes.map((home) => h("tr", { "data-home-id": home.home_id },
    h("th", { scope: "row" }, home.name, h("br"), h("code", { class: "mono" }, home.home_id)),
    h("td", { "data-label": t("homes.bus") }, home.bus ?? "–"),
    h("td", { "data-label": t("homes.status") }, statusBadge(home)),
    h("td", { "data-label": t("homes.last_seen") },
      home.last_seen_ms ? dateTime(home.last_seen_ms / 1000) : t("homes.never")),
    h("td", { "data-label": t("homes.keys") }, h("ul", { class: "key-list" }, home.keys.map((key) => h("li", {},
      h("span", {}, `${t(`kind.${key.kind}`)} · ${key.name}`),
      h("code", { class: "mono", title: key.key_id }, `${key.key_id.slice(0, 8)}…`),
      key.revoked ? h("span", { class: "badge badge-danger" }, t("homes.revoked"))
        : h("button", {
          type: "button", class: "small danger",
          "aria-label": t("homes.revoke_key_label", { key: key.name, name: home.name }),
          onclick: () => revoke("key", key.key_id, `${home.name} · ${key.name}`),
        }, t("homes.revoke_key")))))),
    h("td", { "data-label": t("homes.actions") }, home.revoked ? "" : h("button", {
      type: "button", class: "danger",
      "aria-label": t("homes.revoke_home_label", { name: home.name }),
      onclick: () => revoke("home", home.home_id, home.name),
    }, t("homes.revoke_home"))))));
}

// -- invite ----------------------------------------------------------------------------------

async function invite(event) {
  event.preventDefault();
  setText("#invite-error", "");
  const form = event.target;
  const bus = form.bus.value.trim();
  const body = { name: form.name.value.trim(), ttl_hours: Number(form.ttl.value) };
  if (bus !== "") body.bus = Number(bus);
  try {
    state.invite = await adminApi("/api/v1/admin/invites", { method: "POST", body });
  } catch (err) {
    setText("#invite-error", errorText(err));
    return;
  }
  form.name.value = "";
  renderInvite();
  $("#invite-result").focus();
  await loadHomes();
}

function renderInvite() {
  const result = state.invite;
  if (!result) return;
  fill($("#invite-result"),
    h("p", {}, t("invite.code_for", { name: result.name })),
    h("p", { class: "code", id: "join-code" }, result.join_code),
    h("p", { class: "detail" }, t("invite.expires", { time: dateTime(result.expires_at / 1000) })),
    h("p", { class: "detail" }, t("invite.how", { url: location.origin })));
  $("#invite-result").setAttribute("tabindex", "-1");
}

// -- settings --------------------------------------------------------------------------------

function periodRow(period = { start: "00:00", retail_price: 30, feed_in_price: 8 }) {
  const row = h("tr", {},
    h("td", {}, h("input", { type: "time", step: 60, required: true, value: period.start,
      "aria-label": t("settings.start"), name: "start" })),
    h("td", {}, h("input", { type: "number", step: 1, required: true, value: period.retail_price,
      "aria-label": t("settings.retail"), name: "retail", inputmode: "numeric" })),
    h("td", {}, h("input", { type: "number", step: 1, required: true, value: period.feed_in_price,
      "aria-label": t("settings.feedin"), name: "feedin", inputmode: "numeric" })),
    h("td", {}, h("button", { type: "button", class: "small danger",
      "aria-label": t("settings.remove_label", { start: period.start }),
      onclick: () => {
        if ($("#periods-table tbody").rows.length > 1) row.remove();
      } }, t("settings.remove"))));
  return row;
}

function renderSettings() {
  const s = state.settings;
  if (!s) return;
  $("#set-fee").value = s.fee_per_kwh;
  $("#set-k").value = s.k_percent;
  $("#set-tz").value = s.tariff.timezone;
  fill($("#periods-table tbody"), s.tariff.periods.map((p) => periodRow(p)));
  const choices = new Set([...INTERVAL_CHOICES, s.interval_seconds]);
  if (s.pending_restart.interval_seconds) choices.add(s.pending_restart.interval_seconds);
  const selected = s.pending_restart.interval_seconds ?? s.interval_seconds;
  fill($("#set-interval"), [...choices].sort((a, b) => a - b).map((seconds) =>
    h("option", { value: seconds, selected: seconds === selected }, duration(seconds))));
  $("#set-gate").value = s.pending_restart.gate_closure_seconds ?? s.gate_closure_seconds;
  const pending = Object.entries(s.pending_restart);
  setText("#intervals-pending", pending.length
    ? t("intervals.pending", {
      values: pending.map(([key, value]) => `${t(`intervals.${key}`)}: ${duration(value)}`).join(", "),
    })
    : t("intervals.running", {
      interval: duration(s.interval_seconds), gate: duration(s.gate_closure_seconds),
    }));
}

async function saveSettings(event, body, statusId, errorId) {
  event.preventDefault();
  setText(statusId, "");
  setText(errorId, "");
  try {
    state.settings = await adminApi("/api/v1/admin/settings", { method: "PUT", body });
  } catch (err) {
    setText(errorId, errorText(err));
    return;
  }
  renderSettings();
  setText(statusId, t("settings.saved"));
  document.dispatchEvent(new CustomEvent("gridcoop:settings-changed"));
}

function marketBody() {
  const periods = [...$("#periods-table tbody").rows].map((row) => ({
    start: row.querySelector("[name=start]").value.slice(0, 5),
    retail_price: Number(row.querySelector("[name=retail]").value),
    feed_in_price: Number(row.querySelector("[name=feedin]").value),
  }));
  return {
    fee_per_kwh: Number($("#set-fee").value),
    k_percent: Number($("#set-k").value),
    tariff: { timezone: $("#set-tz").value.trim(), periods },
  };
}

function intervalBody() {
  return {
    interval_seconds: Number($("#set-interval").value),
    gate_closure_seconds: Number($("#set-gate").value),
  };
}

// -- statements ------------------------------------------------------------------------------

function renderStatementHomes() {
  const select = $("#statements-home");
  const chosen = select.value;
  fill(select, h("option", { value: "" }, t("statements.community")),
    (state.homes?.homes ?? []).map((home) => h("option", {
      value: home.home_id, selected: home.home_id === chosen,
    }, `${home.name} (${home.home_id.slice(0, 8)}…)`)));
}

function thisMonth() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}`;
}

async function downloadStatement(event) {
  event.preventDefault();
  setText("#statements-status", "");
  setText("#statements-error", "");
  const month = $("#statements-month").value;
  const home = $("#statements-home").value;
  const path = home ? `/api/v1/admin/statements/${month}/homes/${home}`
    : `/api/v1/admin/statements/${month}`;
  const file = home ? `gridcoop-statement-${month}-${home}.csv` : `gridcoop-summary-${month}.csv`;
  let text;
  try {
    text = await adminApi(`${path}?format=csv`, { raw: true });
  } catch (err) {
    setText("#statements-error", errorText(err));
    return;
  }
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const link = h("a", { href: url, download: file, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  setText("#statements-status", t("statements.saved", { file }));
}

// -- wiring ----------------------------------------------------------------------------------

export function renderAdmin() {
  if (!state.token) return;
  renderSettings();
  renderHomes();
  renderStatementHomes();
  renderInvite();
}

export function initAdmin() {
  $("#login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = $("#admin-token").value.trim();
    if (token) signIn(token);
  });
  $("#logout").addEventListener("click", () => signOut());
  $("#homes-refresh").addEventListener("click", loadHomes);
  $("#invite-form").addEventListener("submit", invite);
  $("#add-period").addEventListener("click", () => {
    $("#periods-table tbody").append(periodRow({ start: "12:00", retail_price: 30, feed_in_price: 8 }));
  });
  $("#settings-form").addEventListener("submit", (event) =>
    saveSettings(event, marketBody(), "#settings-status", "#settings-error"));
  $("#interval-form").addEventListener("submit", (event) =>
    saveSettings(event, intervalBody(), "#intervals-status", "#intervals-error"));
  $("#statements-month").value = thisMonth();
  $("#statements-form").addEventListener("submit", downloadStatement);
  try {
    fill($("#tz-list"), Intl.supportedValuesOf("timeZone").map((zone) => h("option", { value: zone })));
  } catch {
    // older browsers: the field stays a free text input
  }
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) signIn(saved);
}
