// Requests to the admin API, and how the page reports them: the broker's state in the header,
// a panel's failure in its status line.

// A request that has not answered by then counts as failed; the next poll tries again.
const REQUEST_TIMEOUT_MS = 5000;

export class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// The JSON answer of `path`; throws HttpError for an error status (with the API's
// `{"error"}` message) and a plain Error when the broker cannot be reached.
export async function api(path, { method = "GET", body, timeoutMs = REQUEST_TIMEOUT_MS } = {}) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), timeoutMs);
  let response;
  try {
    const init = { method, signal: abort.signal, cache: "no-store", headers: {} };
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    response = await fetch(path, init);
  } catch (e) {
    brokerState(false, e.name === "AbortError" ? "no answer in time" : e.message);
    throw new Error(e.name === "AbortError" ? `no answer within ${timeoutMs / 1000} s` : e.message);
  } finally {
    clearTimeout(timer);
  }
  brokerState(true);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (e) {
    data = null;
  }
  if (!response.ok) {
    const message = data && typeof data.error === "string" ? data.error : response.statusText;
    throw new HttpError(response.status, message || `status ${response.status}`);
  }
  return data;
}

// What a panel says when its list endpoint failed.
export function failure(path, error) {
  if (error instanceof HttpError && (error.status === 404 || error.status === 405)) {
    return `Not available: this broker does not serve ${path}.`;
  }
  if (error instanceof HttpError) {
    return `${path} failed (${error.status}): ${error.message}`;
  }
  return `Cannot reach the broker: ${error.message}`;
}

function brokerState(reachable, why) {
  const node = document.getElementById("broker-state");
  const at = new Date().toLocaleTimeString();
  node.dataset.state = reachable ? "up" : "down";
  node.textContent = reachable
    ? `Connected to ${location.host} · updated ${at}`
    : `Cannot reach the broker (${why}) · ${at}`;
}

export function setStatus(id, text) {
  const node = document.getElementById(id);
  node.hidden = !text;
  node.textContent = text || "";
}
