// Fetching the hub's JSON. Refusals arrive as {"error": code, "detail": text}.

export class ApiError extends Error {
  constructor(status, reason, detail) {
    super(detail || reason || `HTTP ${status}`);
    this.status = status;
    this.reason = reason;
    this.detail = detail;
  }
}

// `raw`: the answer's text as it came (a CSV download), not parsed as JSON.
export async function api(path, { method = "GET", body, token, raw = false } = {}) {
  const headers = { Accept: raw ? "text/csv, application/json" : "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
    });
  } catch (err) {
    throw new ApiError(0, "unreachable", String(err));
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, data?.error ?? "http_error", data?.detail ?? text);
  }
  return raw ? text : data;
}
