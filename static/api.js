// HTTP helpers of the diagnostics page: JSON GET with a timeout, and POST actions whose
// failures carry the API's own message ({ error: { code, message } }). The operator token comes
// from the start line's URL (?token=...), is kept in sessionStorage, removed from the address
// bar, and sent as Authorization: Bearer with every request.

const TOKEN_KEY = "zonescaler.operatorToken";

function takeTokenFromUrl() {
  const url = new URL(location.href);
  const token = url.searchParams.get("token");
  if (token === null) return;
  sessionStorage.setItem(TOKEN_KEY, token);
  url.searchParams.delete("token");
  history.replaceState(null, "", url.pathname + url.search + url.hash);
}
takeTokenFromUrl();

/** The operator token of this tab, or "" when none was given. */
export function operatorToken() {
  return sessionStorage.getItem(TOKEN_KEY) ?? "";
}

/** Headers carrying the operator token, when there is one. */
function authHeaders() {
  const token = operatorToken();
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** `path` with the token as a query parameter, for EventSource (which cannot send headers). */
export function withToken(path) {
  const token = operatorToken();
  if (!token) return path;
  return `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
}

/** An API answer that was not 2xx, with the server's code and message when it sent them. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
  }
}

async function errorOf(response, what) {
  let code = `HTTP_${response.status}`;
  let message = `${what}: HTTP ${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") {
      code = String(body.error.code ?? code);
      message = `${what}: ${body.error.message}`;
    }
  } catch {
    // Not JSON: keep the status line.
  }
  return new ApiError(response.status, code, message);
}

/** GETs JSON from `path`; rejects with ApiError on a non-2xx answer or after `timeoutMs`. */
export async function getJson(path, timeoutMs = 3000) {
  const response = await fetch(path, {
    headers: authHeaders(),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw await errorOf(response, `GET ${path}`);
  return await response.json();
}

/** POSTs `body` as JSON; resolves with the reply (or null), rejects with ApiError. */
export async function postJson(path, body, timeoutMs = 10000) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...authHeaders() },
    body: JSON.stringify(body ?? {}),
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw await errorOf(response, `POST ${path}`);
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}
