// A radial feeder drawn as a tree: the transformer's bus on the left, each bus one column
// further per line away from it. Expects the feeder file format (buses, lines, homes).

import { t, tp } from "./i18n.js";
import { svg, widthOf } from "./svg.js";

export function looksLikeFeeder(data) {
  return Array.isArray(data?.buses) && Array.isArray(data?.lines) &&
    data.lines.every((line) => "from_bus" in line && "to_bus" in line);
}

export function renderFeeder(container, feeder) {
  const ids = feeder.buses.map((bus) => bus.id);
  const children = new Map(ids.map((id) => [id, []]));
  for (const line of feeder.lines) {
    children.get(line.from_bus)?.push({ bus: line.to_bus, line });
    children.get(line.to_bus)?.push({ bus: line.from_bus, line });
  }
  const root = feeder.transformer?.bus ?? ids[0];
  const depth = new Map([[root, 0]]);
  const row = new Map();
  const edges = [];
  let rows = 0;
  const visit = (id) => {
    const next = (children.get(id) ?? []).filter((c) => !depth.has(c.bus));
    next.forEach((c) => depth.set(c.bus, depth.get(id) + 1));
    if (!next.length) row.set(id, rows++);
    for (const c of next) {
      edges.push({ from: id, to: c.bus, line: c.line });
      visit(c.bus);
    }
    if (!row.has(id)) row.set(id, (row.get(next[0].bus) + row.get(next.at(-1).bus)) / 2);
  };
  visit(root);

  const homesAt = new Map();
  // The hub's /api/v1/grid counts homes per bus; a feeder file maps home ids to buses instead.
  for (const bus of feeder.buses) if (bus.homes) homesAt.set(bus.id, bus.homes);
  for (const bus of Object.values(feeder.homes ?? {})) homesAt.set(bus, (homesAt.get(bus) ?? 0) + 1);
  const width = widthOf(container);
  const maxDepth = Math.max(...depth.values(), 1);
  const height = Math.max(120, rows * 44 + 40);
  const x = (id) => 40 + (depth.get(id) / maxDepth) * (width - 110);
  const y = (id) => 28 + row.get(id) * 44;
  const drawn = [...depth.keys()];
  const nameOf = new Map(feeder.buses.map((bus) => [bus.id, bus.name || String(bus.id)]));

  return container.replaceChildren(svg("svg", {
    viewBox: `0 0 ${width} ${height}`, width, height, role: "img",
    "aria-label": t("network.aria", { buses: drawn.length, lines: edges.length }),
  },
  edges.map(({ from, to, line }) => svg("path", {
    d: `M${x(from)},${y(from)}H${(x(from) + x(to)) / 2}V${y(to)}H${x(to)}`,
    class: "c-feedin",
  }, svg("title", {}, line.name ?? `${from}–${to}`))),
  drawn.map((id) => svg("g", {},
    svg("circle", { cx: x(id), cy: y(id), r: id === root ? 9 : 6, class: "c-cross" }),
    svg("text", { x: x(id) + 12, y: y(id) - 8, class: "chart-label" },
      homesAt.get(id) ? `${nameOf.get(id)} · ${tp("network.homes", homesAt.get(id))}`
        : nameOf.get(id))))));
}
