// Translations and locale-aware formatting (numbers, money, energy, times in the hub's zone).

export const LANGUAGES = ["en", "ru"];
const STORAGE_KEY = "gridcoop.lang";

let lang = "en";
let dict = {};
let english = {};
const context = { currency: "EUR", timezone: "UTC", intervalSeconds: 900 };

async function fetchDict(code) {
  const response = await fetch(`/dashboard/i18n/${code}.json`);
  if (!response.ok) throw new Error(`translations ${code}: HTTP ${response.status}`);
  return response.json();
}

export function preferredLanguage() {
  const saved = localStorage.getItem(STORAGE_KEY);
  if (LANGUAGES.includes(saved)) return saved;
  const browser = (navigator.language || "en").slice(0, 2).toLowerCase();
  return LANGUAGES.includes(browser) ? browser : "en";
}

export async function loadLanguage(code) {
  if (!LANGUAGES.includes(code)) code = "en";
  if (!Object.keys(english).length) english = await fetchDict("en");
  dict = code === "en" ? english : await fetchDict(code);
  lang = code;
  localStorage.setItem(STORAGE_KEY, code);
}

export const currentLanguage = () => lang;

export function setContext(values) {
  Object.assign(context, values);
}

export const hubContext = () => ({ ...context });

/** The text for `key` with {placeholders} filled in. */
export function t(key, params = {}) {
  const text = dict[key] ?? english[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (match, name) => (name in params ? String(params[name]) : match));
}

/** Plural-aware text: `key.one`, `key.few`, `key.many` or `key.other`, with {count}. */
export function tp(key, count, params = {}) {
  const category = new Intl.PluralRules(lang).select(count);
  const specific = `${key}.${category}`;
  const chosen = (dict[specific] ?? english[specific]) !== undefined ? specific : `${key}.other`;
  return t(chosen, { count: number(count), ...params });
}

export function applyTranslations(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-aria-label]")) {
    node.setAttribute("aria-label", t(node.dataset.i18nAriaLabel));
  }
  document.documentElement.lang = lang;
  document.title = t("page.title");
}

// -- formatting ------------------------------------------------------------------------------

export function number(value, maxDigits = 0, minDigits = 0) {
  return new Intl.NumberFormat(lang, {
    maximumFractionDigits: maxDigits,
    minimumFractionDigits: minDigits,
  }).format(value);
}

function currencyDigits() {
  try {
    const options = new Intl.NumberFormat("en", { style: "currency", currency: context.currency });
    return options.resolvedOptions().maximumFractionDigits;
  } catch {
    return 2;
  }
}

function currency(major, minDigits, maxDigits) {
  try {
    return new Intl.NumberFormat(lang, {
      style: "currency",
      currency: context.currency,
      minimumFractionDigits: minDigits,
      maximumFractionDigits: maxDigits,
    }).format(major);
  } catch {
    return `${number(major, maxDigits, minDigits)} ${context.currency}`;
  }
}

/** A price in minor units per kWh, e.g. 10 -> "€0.10/kWh". */
export function price(minor, { unit = true } = {}) {
  if (minor === null || minor === undefined) return "–";
  const digits = currencyDigits();
  const text = currency(minor / 10 ** digits, digits, digits + 2);
  return unit ? `${text}${t("unit.per_kwh")}` : text;
}

/** Money in milli-minor units (price x Wh), e.g. 50000 -> "€0.50". */
export function money(mminor) {
  const digits = currencyDigits();
  return currency(mminor / 1000 / 10 ** digits, digits, digits);
}

/** Energy in Wh, shown in kWh. */
export function energy(wh) {
  if (wh === null || wh === undefined) return "–";
  const kwh = wh / 1000;
  return `${number(kwh, Math.abs(kwh) < 10 ? 2 : 1)} ${t("unit.kwh")}`;
}

function dateFormat(options) {
  try {
    return new Intl.DateTimeFormat(lang, { ...options, timeZone: context.timezone });
  } catch {
    return new Intl.DateTimeFormat(lang, options);
  }
}

function timeOptions() {
  const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
  if (context.intervalSeconds < 60) options.second = "2-digit";
  return options;
}

/** Time of day of UTC seconds, in the hub's time zone. */
export function time(seconds) {
  return dateFormat(timeOptions()).format(new Date(seconds * 1000));
}

export function dateTime(seconds) {
  return dateFormat({ day: "numeric", month: "short", ...timeOptions() }).format(
    new Date(seconds * 1000),
  );
}

export function day(seconds) {
  return dateFormat({ day: "numeric", month: "short" }).format(new Date(seconds * 1000));
}

export function intervalLabel(start, end, withDay = false) {
  return `${withDay ? dateTime(start) : time(start)}–${time(end)}`;
}

export function duration(seconds) {
  const [value, unit] =
    seconds % 3600 === 0 ? [seconds / 3600, "hour"]
      : seconds % 60 === 0 ? [seconds / 60, "minute"]
        : [seconds, "second"];
  return new Intl.NumberFormat(lang, { style: "unit", unit, unitDisplay: "short" }).format(value);
}
