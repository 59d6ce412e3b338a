// The one way the pages call the API: JSON in and out, the token from the session, errors
// returned (never thrown) in the API's own shape so forms can show them by field.
import { forget, token } from "./session.js";

export async function api(path, { method = "GET", body, headers = {}, auth = true } = {}) {
  const sent = { Accept: "application/json", ...headers };
  if (body !== undefined) sent["Content-Type"] = "application/json";
  const key = auth ? token() : null;
  if (key) sent.Authorization = `Token ${key}`;
  let response;
  try {
    response = await fetch(path, {
      method,
      headers: sent,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
    });
  } catch {
    return {
      ok: false,
      status: 0,
      data: { detail: "The service cannot be reached. Check your connection and try again." },
      headers: new Headers(),
    };
  }
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (response.status !== 204 && response.status !== 304 && type.includes("json")) {
    data = await response.json().catch(() => null);
  }
  if (response.status === 401 && key) forget(); // expired or revoked: sign in again
  return { ok: response.ok, status: response.status, data, headers: response.headers };
}

// The first message of an error body, for a place that shows one line.
export function firstError(data, fallback = "Something went wrong. Please try again.") {
  if (!data || typeof data !== "object") return fallback;
  for (const value of Object.values(data)) {
    if (typeof value === "string") return value;
    if (Array.isArray(value) && typeof value[0] === "string") return value[0];
    if (value && typeof value === "object") return firstError(value, fallback);
  }
  return fallback;
}
