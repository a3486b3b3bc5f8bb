// The dashboard's only way to the server: the public API under ./api/v1 and the network
// subset under ./api/v2.0 (the token rides in an HttpOnly cookie) and the dashboard's own
// login, logout and session endpoints. The block-storage subset is reached under
// ./api/volume/v3/{project id}, always the session's own project.

export const API_VERSION = "container 1.40";

export class ApiError extends Error {
  constructor(status, detail, field) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.field = field;
  }
}

function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith("dockyard_csrf="));
  return found ? decodeURIComponent(found.slice("dockyard_csrf=".length)) : "";
}

// The field an API error names: "Invalid input for field 'memory': ..." or "memory: ...".
export function fieldOf(detail) {
  const quoted = /field '([^'/]+)/.exec(detail || "");
  if (quoted) return quoted[1];
  const prefixed = /^([a-z_]+): /.exec(detail || "");
  return prefixed ? prefixed[1] : null;
}

async function failure(response) {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body && Array.isArray(body.errors) && body.errors[0]) {
      detail = body.errors[0].detail || body.errors[0].title || detail;
    } else if (body && body.error) {
      detail = body.error.message || detail;
    } else if (body && body.NeutronError) {
      detail = body.NeutronError.message || detail;
    } else if (body && typeof body === "object") {
      // Cinder's fault: {"itemNotFound": {"code": 404, "message": "..."}}.
      const [fault] = Object.values(body);
      if (fault && typeof fault.message === "string") detail = fault.message;
    }
  } catch (_) { /* not JSON */ }
  return new ApiError(response.status, detail, fieldOf(detail));
}

let onUnauthorized = () => {};
export function whenUnauthorized(handler) { onUnauthorized = handler; }

async function send(method, url, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { ...headers } };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRF-Token"] = csrfToken();
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  if (!response.ok) {
    const error = await failure(response);
    if (response.status === 401 && !url.endsWith("/login")) onUnauthorized();
    throw error;
  }
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}

export const api = {
  get: (path, params) => send("GET", `api/v1${path}${query(params)}`, undefined,
    { "OpenStack-API-Version": API_VERSION }),
  post: (path, params, body) => send("POST", `api/v1${path}${query(params)}`, body,
    { "OpenStack-API-Version": API_VERSION }),
  del: (path, params) => send("DELETE", `api/v1${path}${query(params)}`, undefined,
    { "OpenStack-API-Version": API_VERSION }),
};

// The Neutron v2.0 subset: networks, subnets, ports, security groups and their rules.
export const net = {
  get: (path, params) => send("GET", `api/v2.0${path}${query(params)}`),
  post: (path, body) => send("POST", `api/v2.0${path}`, body),
  del: (path) => send("DELETE", `api/v2.0${path}`),
};

// The block-storage v3 subset, scoped to the project of the session (`projectId`).
export function volumes(projectId) {
  const base = `api/volume/v3/${encodeURIComponent(projectId)}/volumes`;
  return {
    list: async () => (await send("GET", `${base}/detail`)).volumes,
    create: (volume) => send("POST", base, { volume }),
    del: (id) => send("DELETE", `${base}/${encodeURIComponent(id)}`),
  };
}

export const auth = {
  session: () => send("GET", "session"),
  login: (username, password, project) => send("POST", "login", { username, password, project }),
  logout: () => send("POST", "logout"),
};
