// The order book chart: aggregated demand and supply as step curves (price over cumulative
// energy) and the clearing point where they cross.

import { fill, h } from "./dom.js";
import { energy, intervalLabel, price, t, tp } from "./i18n.js";
import { niceDomain, scale, svg, ticks, widthOf } from "./svg.js";

function curve(levels, x, y, endY) {
  if (!levels.length) return "";
  let d = `M${x(0)},${y(levels[0].price)}`;
  levels.forEach((level, i) => {
    d += `L${x(level.cumulative_wh)},${y(level.price)}`;
    const next = levels[i + 1];
    d += `L${x(level.cumulative_wh)},${next ? y(next.price) : endY}`;
  });
  return d;
}

export function renderOrderBook(container, book) {
  if (!book) {
    fill(container, h("p", { class: "empty" }, t("orderbook.none")));
    return;
  }
  const { demand, supply, clearing } = book;
  if (!demand.length && !supply.length) {
    fill(container, h("p", { class: "empty" }, t("orderbook.no_bids")));
    return;
  }
  const width = widthOf(container);
  const height = width < 520 ? 280 : 320;
  const m = { left: 70, right: width < 520 ? 52 : 70, top: 18, bottom: 40 };
  const total = Math.max(demand.at(-1)?.cumulative_wh ?? 0, supply.at(-1)?.cumulative_wh ?? 0,
    clearing.volume_wh, 1);
  const x = scale(0, total * 1.06, m.left, width - m.right);
  const prices = [...demand, ...supply].map((l) => l.price)
    .concat([book.retail_price, book.feed_in_price]);
  const [pMin, pMax] = niceDomain(Math.min(...prices), Math.max(...prices));
  const y = scale(pMin, pMax, height - m.bottom, m.top);

  const grid = svg("g", { class: "grid" });
  const axis = svg("g", { class: "axis" });
  for (const v of ticks(pMin, pMax, 5)) {
    grid.append(svg("line", { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }));
    axis.append(svg("text", { x: m.left - 8, y: y(v) + 4, "text-anchor": "end" },
      price(v, { unit: false })));
  }
  const bottom = height - m.bottom;
  axis.append(svg("line", { x1: m.left, x2: width - m.right, y1: bottom, y2: bottom }));
  for (const v of ticks(0, total * 1.06, Math.max(2, Math.floor(width / 120)))) {
    axis.append(svg("line", { x1: x(v), x2: x(v), y1: bottom, y2: bottom + 5 }));
    axis.append(svg("text", { x: x(v), y: bottom + 19, "text-anchor": "middle" }, energy(v)));
  }
  axis.append(svg("text", { x: 4, y: 11, class: "chart-label" }, t("chart.price_axis")));
  axis.append(svg("text", { x: width - m.right, y: height - 4, class: "chart-label",
    "text-anchor": "end" }, t("chart.energy_axis")));

  const refs = svg("g");
  for (const [value, cls, label] of [
    [book.retail_price, "c-retail", t("legend.retail_short")],
    [book.feed_in_price, "c-feedin", t("legend.feedin_short")],
  ]) {
    refs.append(svg("line", { x1: m.left, x2: width - m.right, y1: y(value), y2: y(value), class: cls }));
    refs.append(svg("text", { x: width - m.right + 4, y: y(value) + 4, class: "chart-label" }, label));
  }

  const cross = svg("g");
  if (clearing.price !== null) {
    const cx = x(clearing.volume_wh);
    const cy = y(clearing.price);
    if (clearing.price_low !== clearing.price_high) {
      cross.append(svg("rect", {
        x: m.left, width: cx - m.left, y: y(clearing.price_high),
        height: y(clearing.price_low) - y(clearing.price_high), class: "c-band",
      }));
    }
    cross.append(svg("line", { x1: m.left, x2: cx, y1: cy, y2: cy, class: "c-cross-guide" }));
    cross.append(svg("line", { x1: cx, x2: cx, y1: cy, y2: bottom, class: "c-cross-guide" }));
    cross.append(svg("circle", { cx, cy, r: 6, class: "c-cross" }));
    cross.append(svg("text", {
      x: width - m.right - 6, y: m.top + 14, "text-anchor": "end", class: "c-cross-label",
    }, t("orderbook.cross_label", { price: price(clearing.price), volume: energy(clearing.volume_wh) })));
  }

  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": summaryText(book), "data-price": clearing.price ?? "",
    "data-volume": clearing.volume_wh,
  },
  grid, axis, refs,
  svg("path", { d: curve(demand, x, y, y(pMin)), class: "c-demand" }),
  svg("path", { d: curve(supply, x, y, y(pMax)), class: "c-supply" }),
  cross);
  fill(container, chart);
}

export function summaryText(book) {
  const interval = intervalLabel(book.interval_start, book.interval_end, true);
  const { clearing } = book;
  if (clearing.price === null) {
    return t("orderbook.summary_no_trade", { interval, bids: tp("count.bids", book.participants) });
  }
  return t("orderbook.summary", {
    interval,
    bids: tp("count.bids", book.participants),
    price: price(clearing.price),
    volume: energy(clearing.volume_wh),
  });
}

export function renderLevels(tbody, levels) {
  fill(tbody, levels.map((level) => h("tr", {},
    h("td", { class: "num" }, price(level.price)),
    h("td", { class: "num" }, energy(level.energy_wh)),
    h("td", { class: "num" }, energy(level.cumulative_wh)))));
}
