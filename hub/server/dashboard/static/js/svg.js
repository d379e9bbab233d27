// Tiny SVG toolkit for the charts: elements, linear scales and readable ticks.

const NS = "http://www.w3.org/2000/svg";

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== null && value !== undefined) node.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A linear map from [d0, d1] to [r0, r1]; a zero-width domain maps to the middle. */
export function scale(d0, d1, r0, r1) {
  const span = d1 - d0;
  return (value) => (span === 0 ? (r0 + r1) / 2 : r0 + ((value - d0) / span) * (r1 - r0));
}

/** About `count` round tick values covering [min, max]. */
export function ticks(min, max, count = 5) {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) return [min];
  const raw = (max - min) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * power).find((s) => s >= raw) ?? raw;
  const first = Math.ceil(min / step - 1e-9) * step;
  const values = [];
  for (let v = first; v <= max + step * 1e-9; v += step) values.push(Number(v.toPrecision(12)));
  return values;
}

/** [min, max] widened to round values so the data does not touch the frame. */
export function niceDomain(min, max) {
  if (min === max) return [min - 1, max + 1];
  const pad = (max - min) * 0.08;
  const all = ticks(min - pad, max + pad, 5);
  const step = all.length > 1 ? all[1] - all[0] : 1;
  return [Math.floor((min - pad) / step) * step, Math.ceil((max + pad) / step) * step];
}

/** The container's drawing width in CSS pixels. */
export function widthOf(container, fallback = 720) {
  return Math.max(280, Math.floor(container.clientWidth || fallback));
}
