// api.js: the console's only way to the server: fetch() on the same
// origin, the session cookie sent by the browser, the CSRF token in
// X-CSRF-Token on every state-changing request. Errors become ApiError
// with the problem's type suffix and detail.

export const session = { user: null, role: null, csrf: null, expires: null };

let onUnauthenticated = null;
export function setUnauthenticatedHandler(fn) { onUnauthenticated = fn; }

export class ApiError extends Error {
  constructor(status, type, detail, retryAfter) {
    super(detail || ('HTTP ' + status));
    this.status = status;
    this.type = type;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params || {})) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(encodeURIComponent(k) + '=' + encodeURIComponent(String(v)));
  }
  return parts.length ? '?' + parts.join('&') : '';
}

export function seg(s) { return encodeURIComponent(s); }

export async function request(method, path, opts = {}) {
  const headers = {};
  let body;
  if (method !== 'GET' && method !== 'HEAD' && session.csrf) {
    headers['X-CSRF-Token'] = session.csrf;
  }
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  } else if (opts.body !== undefined) {
    headers['Content-Type'] = opts.contentType || 'application/octet-stream';
    body = opts.body;
  }
  const r = await fetch(path + qs(opts.query), {
    method, headers, body, credentials: 'same-origin', cache: 'no-store',
    redirect: 'error',
  });
  if (r.status === 204) return null;
  const text = await r.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
  if (!r.ok) {
    const type = data && typeof data.type === 'string' ? data.type.split('/').pop() : '';
    const detail = data && typeof data.detail === 'string' ? data.detail : r.statusText;
    const err = new ApiError(r.status, type, detail, r.headers.get('Retry-After'));
    if (r.status === 401 && !opts.noAuthRedirect && onUnauthenticated) onUnauthenticated(err);
    throw err;
  }
  return data;
}

export const api = {
  get: (p, query) => request('GET', '/api/v1/' + p, { query }),
  post: (p, json) => request('POST', '/api/v1/' + p, { json: json || {} }),
  put: (p, json) => request('PUT', '/api/v1/' + p, { json }),
  putRaw: (p, body, contentType) => request('PUT', '/api/v1/' + p, { body, contentType }),
  del: (p) => request('DELETE', '/api/v1/' + p),
};

// Every page of a list endpoint (bounded).
export async function listAll(p, query, maxPages = 20) {
  const items = [];
  let cursor = null;
  for (let i = 0; i < maxPages; i++) {
    const page = await api.get(p, Object.assign({}, query, { limit: 1000, cursor }));
    items.push(...page.items);
    if (!page.next_cursor) return { items, complete: true };
    cursor = page.next_cursor;
  }
  return { items, complete: false };
}

export async function login(username, password) {
  const s = await request('POST', '/console/api/login', {
    json: { username, password }, noAuthRedirect: true,
  });
  Object.assign(session, s);
  return s;
}

export async function loadSession() {
  try {
    const s = await request('GET', '/console/api/session', { noAuthRedirect: true });
    Object.assign(session, s);
    return s;
  } catch (e) {
    if (e.status === 401) return null;
    throw e;
  }
}

export async function logout() {
  try {
    await request('POST', '/console/api/logout', { noAuthRedirect: true });
  } finally {
    session.user = session.role = session.csrf = session.expires = null;
  }
}

// What a role may do (the server refuses anyway; this only hides).
export const can = {
  write: () => session.role === 'admin' || session.role === 'operator',
  audit: () => session.role === 'admin' || session.role === 'auditor',
  users: () => session.role === 'admin',
  reveal: () => session.role === 'admin',
  test: () => session.role === 'admin' || session.role === 'operator',
};
