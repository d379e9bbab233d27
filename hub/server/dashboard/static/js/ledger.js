// The ledger explorer: chain head and finality, the latest blocks, a block's entries, and an
// entry's inclusion proof, checked in the browser (hub/ledger API, see docs/ledger.md).

import { api } from "./api.js";
import { $, fill, h } from "./dom.js";
import { renderValue } from "./generic.js";
import { dateTime, number, t, time } from "./i18n.js";
import { canVerify, checkProof } from "./merkle.js";

export const LEDGER_API = ["/api/v1/ledger/head", "/api/v1/ledger/blocks"];
const EQUIVOCATIONS_API = "/api/v1/ledger/equivocations";
const SHOWN_BLOCKS = 10;
const state = { head: null, blocks: [], block: null, proof: null, equivocations: [] };

const short = (hash) => h("code", { class: "mono", title: hash }, `${hash.slice(0, 12)}…`);

export async function loadLedger() {
  state.head = await api("/api/v1/ledger/head");
  const from = Math.max(0, state.head.height - SHOWN_BLOCKS + 1);
  state.blocks = (await api(`/api/v1/ledger/blocks?from=${from}&limit=${SHOWN_BLOCKS}`)).blocks;
  state.equivocations = (await api(EQUIVOCATIONS_API)).equivocations;
}

/** The page-wide alarm: the hub signed two histories (proofs it keeps and cannot delete). */
function renderEquivocationBanner() {
  const banner = $("#equivocation-banner");
  const proofs = state.equivocations;
  banner.hidden = proofs.length === 0;
  if (!proofs.length) return fill(banner);
  const heights = [...new Set(proofs.map((proof) => proof.height))].join(", ");
  fill(banner,
    h("strong", {}, t("ledger.equivocation_banner", { heights })), " ",
    h("a", { href: "#ledger-equivocations" }, t("ledger.equivocation_details")));
}

function renderEquivocations() {
  if (!state.equivocations.length) return null;
  return h("section", { id: "ledger-equivocations", class: "equivocations", "aria-labelledby": "equivocations-title" },
    h("h3", { id: "equivocations-title" }, t("ledger.equivocations_title")),
    h("p", {}, t("ledger.equivocations_help")),
    h("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-labelledby": "equivocations-title" },
      h("table", { id: "equivocations-table" },
        h("thead", {}, h("tr", {},
          [t("ledger.height"), t("ledger.equivocation_first"), t("ledger.equivocation_second"),
            t("ledger.equivocation_reporter"), t("ledger.equivocation_received")]
            .map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, state.equivocations.map((item) => h("tr", { "data-height": item.height },
          h("td", { class: "num" }, number(item.height)),
          h("td", {}, short(item.first_hash)),
          h("td", {}, short(item.second_hash)),
          h("td", {}, item.reporter),
          h("td", {}, dateTime(item.received_at / 1000))))))));
}

function finalText(block) {
  return block.final ? t("ledger.final") : t("ledger.pending");
}

async function showBlock(height) {
  try {
    state.block = await api(`/api/v1/ledger/blocks/${height}`);
  } catch (err) {
    state.block = { error: err.message };
  }
  renderBlock();
  $("#ledger-block").focus();
}

export async function showProof(entryHashHex) {
  const out = $("#proof-result");
  $("#proof-entry").value = entryHashHex;
  try {
    const answer = await api(`/api/v1/ledger/entries/${encodeURIComponent(entryHashHex)}`);
    const check = canVerify() ? await checkProof(answer) : null;
    state.proof = { answer, check };
  } catch (err) {
    state.proof = { error: err.status === 404 ? t("ledger.proof_missing") : err.message };
  }
  renderProof();
  out.focus();
}

function renderProof() {
  const out = $("#proof-result");
  const proof = state.proof;
  if (!proof) return;
  if (proof.error) {
    fill(out, h("p", { class: "error" }, proof.error));
    return;
  }
  const { answer, check } = proof;
  const verdict = answer.block === null ? t("ledger.not_in_block")
    : check === null ? t("ledger.cannot_check")
      : check.entryOk && check.rootOk ? t("ledger.proof_ok", { height: answer.height })
        : t("ledger.proof_bad");
  const ok = check && check.entryOk && check.rootOk;
  fill(out,
    h("p", { class: ok ? "verdict verdict-ok" : "verdict", "data-verified": ok ? "true" : "false" },
      verdict),
    h("dl", { class: "kv" },
      h("dt", {}, t("ledger.entry_hash")), h("dd", {}, short(answer.hash)),
      h("dt", {}, t("ledger.height")), h("dd", {}, answer.height ?? "–"),
      h("dt", {}, t("ledger.index")), h("dd", {}, answer.index ?? "–"),
      h("dt", {}, t("ledger.proof_steps")), h("dd", {}, answer.proof.length),
      answer.block ? [h("dt", {}, t("ledger.block_final")), h("dd", {}, finalText(answer.block))] : null),
    h("details", {}, h("summary", {}, t("ledger.entry_data")), renderValue(answer.entry)));
}

function renderBlock() {
  const box = $("#ledger-block");
  const data = state.block;
  if (!data) return fill(box);
  if (data.error) return fill(box, h("p", { class: "error" }, data.error));
  const { block, entries = [] } = data;
  fill(box,
    h("h3", {}, t("ledger.block_title", { height: block.height })),
    h("dl", { class: "kv" },
      h("dt", {}, t("ledger.hash")), h("dd", {}, short(block.hash)),
      h("dt", {}, t("ledger.prev_hash")), h("dd", {}, short(block.prev_hash)),
      h("dt", {}, t("ledger.merkle_root")), h("dd", {}, short(block.merkle_root)),
      h("dt", {}, t("ledger.time")), h("dd", {}, dateTime(block.time_ms / 1000)),
      h("dt", {}, t("ledger.signatures")), h("dd", {}, t("ledger.signed_by", {
        count: block.signer_count, threshold: state.head?.threshold ?? "?",
      })),
      h("dt", {}, t("ledger.finality")), h("dd", {}, finalText(block))),
    h("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-label": t("ledger.entries") },
      h("table", {},
        h("caption", {}, t("ledger.entries")),
        h("thead", {}, h("tr", {},
          h("th", { scope: "col" }, "#"),
          h("th", { scope: "col" }, t("ledger.kind")),
          h("th", { scope: "col" }, t("ledger.entry_hash")),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t("homes.actions"))))),
        h("tbody", {}, entries.map((entry, i) => {
          let kind = "–";
          try {
            kind = JSON.parse(entry.data).kind ?? "–";
          } catch {
            // not JSON: show no kind
          }
          return h("tr", {},
            h("td", { class: "num" }, i),
            h("td", {}, kind),
            h("td", {}, short(entry.hash)),
            h("td", {}, h("button", {
              type: "button", class: "small",
              "aria-label": t("ledger.prove_label", { index: i, height: block.height }),
              onclick: () => showProof(entry.hash),
            }, t("ledger.prove"))));
        })))));
}

export function renderLedger(body) {
  const head = state.head;
  if (!head) return;
  renderEquivocationBanner();
  fill(body,
    renderEquivocations(),
    h("dl", { class: "kv" },
      h("dt", {}, t("ledger.height")), h("dd", {}, number(head.height)),
      h("dt", {}, t("ledger.final_height")),
      h("dd", {}, head.final_height === null ? t("ledger.none_final") : number(head.final_height)),
      h("dt", {}, t("ledger.finality")), h("dd", {}, t("ledger.threshold", {
        threshold: head.threshold, validators: head.validators.length,
      })),
      h("dt", {}, t("ledger.chain")), h("dd", {}, h("code", { class: "mono" }, head.chain_id))),
    h("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-labelledby": "blocks-caption" },
      h("table", { id: "blocks-table" },
        h("caption", { id: "blocks-caption" }, t("ledger.latest_blocks")),
        h("thead", {}, h("tr", {},
          [t("ledger.height"), t("ledger.time"), t("ledger.interval"), t("ledger.entries"),
            t("ledger.signatures"), t("ledger.finality"), t("ledger.hash")]
            .map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, [...state.blocks].reverse().map((block) => h("tr", { "data-height": block.height },
          h("td", {}, h("button", {
            type: "button", class: "small", "aria-label": t("ledger.show_block", { height: block.height }),
            "data-focus-key": `block-${block.height}`, onclick: () => showBlock(block.height),
          }, number(block.height))),
          h("td", {}, dateTime(block.time_ms / 1000)),
          h("td", {}, block.interval_start === null ? "–" : time(block.interval_start)),
          h("td", { class: "num" }, number(block.entry_count)),
          h("td", { class: "num" }, `${block.signer_count} / ${head.threshold}`),
          h("td", {}, h("span", { class: block.final ? "badge badge-ok" : "badge badge-off" },
            finalText(block))),
          h("td", {}, short(block.hash))))))));
}

/** The block and proof the user asked for (kept apart: live refreshes do not redraw them). */
export function renderLedgerDetails() {
  renderBlock();
  renderProof();
}
