// Renders JSON of unknown shape readably: objects as definition lists, lists of objects as
// tables. Used for hub features whose exact answers this dashboard does not hard-code.

import { h } from "./dom.js";
import { t } from "./i18n.js";

const MAX_COLUMNS = 8;
const MAX_ROWS = 50;

const isScalar = (v) => v === null || ["string", "number", "boolean"].includes(typeof v);

function scalarText(value) {
  if (value === null) return "–";
  if (typeof value === "boolean") return value ? t("generic.yes") : t("generic.no");
  return String(value);
}

function scalarNode(value) {
  const text = scalarText(value);
  if (typeof value === "string" && /^[0-9a-fA-F_\-=+/]{24,}$/.test(value)) {
    return h("code", { title: value }, `${text.slice(0, 10)}…${text.slice(-6)}`);
  }
  return text;
}

function table(rows) {
  const columns = [];
  for (const row of rows.slice(0, 20)) {
    for (const [key, value] of Object.entries(row)) {
      if (isScalar(value) && !columns.includes(key) && columns.length < MAX_COLUMNS) columns.push(key);
    }
  }
  return h("div", { class: "table-wrap", role: "region", tabindex: "0", "aria-label": t("generic.table") },
    h("table", {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows.slice(0, MAX_ROWS).map((row) =>
        h("tr", {}, columns.map((c) => h("td", {}, c in row ? scalarNode(row[c]) : "")))))));
}

export function renderValue(value, depth = 0) {
  if (isScalar(value)) return h("span", {}, scalarNode(value));
  if (Array.isArray(value)) {
    if (!value.length) return h("span", {}, t("generic.empty"));
    if (value.every((item) => item && typeof item === "object" && !Array.isArray(item))) {
      return table(value);
    }
    return h("span", {}, value.slice(0, MAX_ROWS).map(scalarText).join(", "));
  }
  if (depth > 2) return h("code", {}, JSON.stringify(value).slice(0, 200));
  return h("dl", { class: "kv" }, Object.entries(value).map(([key, item]) => [
    h("dt", {}, key),
    h("dd", {}, renderValue(item, depth + 1)),
  ]));
}
