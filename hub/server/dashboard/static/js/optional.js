// Sections for hub features that may not be there: the feeder (network) view and the ledger
// explorer. The hub's OpenAPI document says which endpoints it serves; an endpoint answering 404
// means the feature is switched off. Either way the section says "not configured", and it
// lights up on its own once the hub offers the data.

import { api } from "./api.js";
import { $, fill, h } from "./dom.js";
import { looksLikeFeeder, renderFeeder } from "./feeder.js";
import { renderValue } from "./generic.js";
import { t } from "./i18n.js";
import { LEDGER_API, loadLedger, renderLedger, renderLedgerDetails, showProof } from "./ledger.js";

const SECTIONS = {
  network: { prefix: "/api/v1/grid", preferred: /feeder|network|topology|state/ },
  ledger: { prefix: "/api/v1/ledger", preferred: /head|blocks$|status|summary/ },
};
const results = {};
let documented = null; // GET paths of the hub's OpenAPI document

async function documentedGets() {
  const doc = await api("/api/v1/openapi.json");
  return Object.entries(doc.paths ?? {}).filter(([, ops]) => ops.get).map(([path]) => path);
}

async function probe(name, { prefix, preferred }) {
  const mine = documented.filter((path) => path.startsWith(prefix));
  const explorer = name === "ledger" && LEDGER_API.every((path) => mine.includes(path));
  const plain = mine.filter((path) => !path.includes("{"));
  const path = explorer ? LEDGER_API[0] : plain.find((p) => preferred.test(p)) ?? plain[0];
  if (!path) return { state: "absent" };
  try {
    // Ask before fetching: a 404 would still be logged by the browser as a console error.
    if (name === "network" && !(await api("/api/v1/info")).feeder_configured) {
      return { state: "absent" };
    }
    if (explorer) {
      await loadLedger();
      return { state: "ready", path, explorer };
    }
    return { state: "ready", path, data: await api(path) };
  } catch (err) {
    return { state: err.status === 404 ? "absent" : "error", detail: err.detail || err.message };
  }
}

function renderSection(name) {
  const body = $(`#${name}-body`);
  const focused = body.contains(document.activeElement) ? document.activeElement.dataset.focusKey : null;
  drawSection(name, body);
  if (focused) body.querySelector(`[data-focus-key="${focused}"]`)?.focus();
}

function drawSection(name, body) {
  const result = results[name];
  const status = $(`#${name}-status`);
  status.dataset.state = result?.state ?? "loading";
  if (name === "ledger") $("#proof-form").hidden = !result?.explorer || result.state !== "ready";
  if (!result) {
    status.textContent = t("optional.checking");
  } else if (result.state === "absent") {
    status.textContent = t(`${name}.absent`);
    fill(body);
  } else if (result.state === "error") {
    status.textContent = t("optional.error", { detail: result.detail });
    fill(body);
  } else if (result.explorer) {
    status.textContent = t("optional.source", { path: "/api/v1/ledger" });
    renderLedger(body);
  } else {
    status.textContent = t("optional.source", { path: result.path });
    const data = result.data?.feeder ?? result.data;
    if (name === "network" && looksLikeFeeder(data)) {
      const drawing = h("div", { class: "chart" });
      fill(body, drawing, h("details", {}, h("summary", {}, t("network.details")), renderValue(data)));
      renderFeeder(drawing, data);
    } else {
      fill(body, renderValue(result.data));
    }
  }
}

export function renderOptional() {
  for (const name of Object.keys(SECTIONS)) renderSection(name);
}

/** After a language change: everything, including the block and proof on display. */
export function renderOptionalAll() {
  renderOptional();
  if (results.ledger?.explorer) renderLedgerDetails();
}

/** Probe again (after a reconnect, or a new interval: new blocks may be there). */
export async function refreshOptional() {
  try {
    documented ??= await documentedGets();
  } catch (err) {
    for (const name of Object.keys(SECTIONS)) results[name] = { state: "error", detail: err.message };
    renderOptional();
    return;
  }
  await Promise.all(Object.entries(SECTIONS).map(async ([name, spec]) => {
    results[name] = await probe(name, spec);
  }));
  renderOptional();
}

export function forgetDocument() {
  documented = null; // the hub may have restarted with other features
}

export function initOptional() {
  $("#proof-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const entry = $("#proof-entry").value.trim();
    if (entry) showProof(entry);
  });
  renderOptional();
  return refreshOptional();
}
