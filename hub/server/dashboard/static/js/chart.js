// The price and volume chart: local price, grid retail and feed-in as step lines over time,
// local volume as bars below. Drawn as plain SVG; the data table beside it is its text version.

import { fill, h } from "./dom.js";
import { day, duration, energy, intervalLabel, price, t, time } from "./i18n.js";
import { niceDomain, scale, svg, ticks, widthOf } from "./svg.js";

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 2 * 86400, 7 * 86400];

function stepPath(points, bucket, x, y, value) {
  let d = "";
  let previousEnd = null;
  for (const point of points) {
    const v = value(point);
    if (v === null || v === undefined) {
      previousEnd = null;
      continue;
    }
    const start = x(point.start);
    d += previousEnd === point.start ? `L${start},${y(v)}` : `M${start},${y(v)}`;
    d += `L${x(point.start + bucket)},${y(v)}`;
    previousEnd = point.start + bucket;
  }
  return d;
}

function timeTicks(from, to, width) {
  const wanted = Math.max(2, Math.floor(width / 110));
  const step = TIME_STEPS.find((s) => (to - from) / s <= wanted) ?? TIME_STEPS.at(-1);
  const values = [];
  for (let v = Math.ceil(from / step) * step; v <= to; v += step) values.push(v);
  return { values, step };
}

/** Draw `history` (GET /api/v1/dashboard/history) into `container`. */
export function renderPriceChart(container, history) {
  const points = history?.points ?? [];
  if (!points.length) {
    fill(container, h("p", { class: "empty" }, t("prices.empty")));
    return;
  }
  const bucket = history.bucket_seconds;
  const width = widthOf(container);
  const height = width < 520 ? 300 : 340;
  const m = { left: 70, right: 14, top: 18, bottom: 30 };
  const priceBottom = m.top + (height - m.top - m.bottom) * 0.62;
  const volumeTop = priceBottom + 26;
  const volumeBottom = height - m.bottom;

  const from = points[0].start;
  const to = points.at(-1).start + bucket;
  const x = scale(from, to, m.left, width - m.right);
  const prices = points.flatMap((p) => [p.retail_price, p.feed_in_price, p.price_min, p.price_max]);
  const known = prices.filter((v) => v !== null && v !== undefined);
  const [pMin, pMax] = niceDomain(Math.min(...known), Math.max(...known));
  const y = scale(pMin, pMax, priceBottom, m.top);
  const maxVolume = Math.max(...points.map((p) => p.volume_wh), 1);
  const volumeTicks = ticks(0, maxVolume, 2);
  const volumeMax = Math.max(maxVolume, volumeTicks.at(-1) ?? maxVolume);
  const yv = scale(0, volumeMax, volumeBottom, volumeTop);

  const grid = svg("g", { class: "grid" });
  const axis = svg("g", { class: "axis" });
  for (const v of ticks(pMin, pMax, 5)) {
    grid.append(svg("line", { x1: m.left, x2: width - m.right, y1: y(v), y2: y(v) }));
    axis.append(svg("text", { x: m.left - 8, y: y(v) + 4, "text-anchor": "end" },
      price(v, { unit: false })));
  }
  for (const v of volumeTicks.filter((v) => v > 0)) {
    grid.append(svg("line", { x1: m.left, x2: width - m.right, y1: yv(v), y2: yv(v) }));
    axis.append(svg("text", { x: m.left - 8, y: yv(v) + 4, "text-anchor": "end" }, energy(v)));
  }
  axis.append(svg("line", { x1: m.left, x2: width - m.right, y1: volumeBottom, y2: volumeBottom }));
  const { values: xTicks, step } = timeTicks(from, to, width - m.left - m.right);
  for (const v of xTicks) {
    axis.append(svg("line", { x1: x(v), x2: x(v), y1: volumeBottom, y2: volumeBottom + 5 }));
    axis.append(svg("text", { x: x(v), y: volumeBottom + 19, "text-anchor": "middle" },
      step >= 86400 ? day(v) : time(v)));
  }
  axis.append(svg("text", { x: 4, y: 11, class: "chart-label" }, t("chart.price_axis")));
  axis.append(svg("text", { x: 4, y: volumeTop - 8, class: "chart-label" }, t("chart.volume_axis")));

  const bars = svg("g");
  const hover = svg("g");
  const dots = svg("g");
  const gap = x(from + bucket) - x(from) > 4 ? 1 : 0;
  for (const p of points) {
    const x0 = x(p.start);
    const w = Math.max(1, x(p.start + bucket) - x0 - gap);
    if (p.volume_wh > 0) {
      bars.append(svg("rect", {
        x: x0, y: yv(p.volume_wh), width: w, height: volumeBottom - yv(p.volume_wh), class: "c-volume",
      }));
    }
    if (p.price !== null && points.length <= 120) {
      dots.append(svg("circle", { cx: x0 + w / 2, cy: y(p.price), r: 3, class: "c-price-dot" }));
    }
    const label = t("chart.tooltip", {
      interval: intervalLabel(p.start, p.start + bucket, to - from > 86400),
      price: p.price === null ? t("price.no_trade") : price(p.price),
      volume: energy(p.volume_wh),
      retail: price(p.retail_price),
      feedin: price(p.feed_in_price),
    });
    hover.append(svg("rect", {
      x: x0, y: m.top, width: Math.max(1, w), height: volumeBottom - m.top, class: "c-hover",
      "data-start": p.start, "data-price": p.price ?? "", "data-volume": p.volume_wh,
    }, svg("title", {}, label)));
  }

  const traded = points.filter((p) => p.price !== null);
  const summary = t("prices.aria", {
    from: intervalLabel(from, to, true),
    count: points.length,
    min: traded.length ? price(Math.min(...traded.map((p) => p.price_min))) : "–",
    max: traded.length ? price(Math.max(...traded.map((p) => p.price_max))) : "–",
    volume: energy(points.reduce((sum, p) => sum + p.volume_wh, 0)),
  });
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img", "aria-label": summary,
    "data-points": points.length,
  },
  grid, bars, axis,
  svg("path", { d: stepPath(points, bucket, x, y, (p) => p.retail_price), class: "c-retail" }),
  svg("path", { d: stepPath(points, bucket, x, y, (p) => p.feed_in_price), class: "c-feedin" }),
  svg("path", { d: stepPath(points, bucket, x, y, (p) => p.price), class: "c-price" }),
  dots, hover);
  fill(container, chart);
}

/** The same data as a table, newest first. */
export function renderPriceTable(tbody, history) {
  const points = [...(history?.points ?? [])].reverse().slice(0, 500);
  const bucket = history?.bucket_seconds ?? 0;
  const withDay = history && history.range !== "24h";
  fill(tbody, points.map((p) => h("tr", { "data-start": p.start },
    h("th", { scope: "row" }, intervalLabel(p.start, p.start + bucket, withDay)),
    h("td", { class: "num", "data-price": p.price ?? "" },
      p.price === null ? t("price.no_trade") : price(p.price)),
    h("td", { class: "num", "data-volume": p.volume_wh }, energy(p.volume_wh)),
    h("td", { class: "num" }, price(p.retail_price)),
    h("td", { class: "num" }, price(p.feed_in_price)))));
}

export function chartNote(history) {
  if (!history) return "";
  if (history.bucket_seconds > history.interval_seconds) {
    return t("prices.bucketed", { bucket: duration(history.bucket_seconds) });
  }
  return t("prices.per_interval", { interval: duration(history.interval_seconds) });
}
