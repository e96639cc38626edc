// The console's calls: its JSON API (/_kv/console) and S3 requests the server presigns.
// The CSRF token lives in this module's memory only; the session is an HttpOnly cookie.

const API = '/_kv/console';
let csrfToken = null;

export class ConsoleError extends Error {
  constructor(message, code = null, status = 0) {
    super(message);
    this.code = code;
    this.status = status;
  }
  get signedOut() { return this.status === 401; }
}

const STATUS_WORDS = {
  400: 'The request was not valid', 403: 'Access denied', 404: 'Not found',
  409: 'Conflict', 412: 'A precondition failed', 503: 'The gateway is unavailable, try again',
};

function statusWords(status, statusText) {
  return STATUS_WORDS[status] || `The gateway answered ${status} ${statusText || ''}`.trim();
}

async function call(method, path, body) {
  const headers = {};
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (csrfToken && method !== 'GET') headers['X-KV-CSRF'] = csrfToken;
  let response;
  try {
    response = await fetch(API + path, init);
  } catch (err) {
    throw new ConsoleError(`The gateway could not be reached (${err.message}).`);
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const error = data && data.error;
    const message = error ? `${error.message} (${error.code})` : statusWords(response.status, response.statusText);
    throw new ConsoleError(message, error ? error.code : null, response.status);
  }
  return data;
}

export async function signIn(accessKey, secretKey) {
  const who = await call('POST', '/session', { accessKey, secretKey });
  csrfToken = who.csrfToken;
  return who;
}

export async function whoAmI() {
  try {
    const who = await call('GET', '/session');
    csrfToken = who.csrfToken;
    return who;
  } catch (err) {
    if (err instanceof ConsoleError && err.signedOut) return null;
    throw err;
  }
}

// Whether the gateway offers single sign-on (the flow itself is page navigations).
export async function ssoEnabled() {
  const answer = await call('GET', '/sso');
  return Boolean(answer && answer.enabled);
}

export async function signOut() {
  try {
    await call('DELETE', '/session');
  } finally {
    csrfToken = null;
  }
}

// `headers`: the x-amz-* headers the request carries (CopyObject's source); the server
// signs them, and the answer's headers must be sent exactly.
export function presign(operation, bucket, key, params, headers) {
  return call('POST', '/presign', {
    operation, bucket: bucket || null, key: key || null, params: params || {}, headers: headers || {},
  });
}

// Children of `node` with local name `name` (S3 documents have a default namespace).
export function elements(node, name) {
  return Array.from(node.getElementsByTagNameNS('*', name));
}

export function childText(node, name) {
  for (const child of node.children) {
    if (child.localName === name) return child.textContent;
  }
  return null;
}

function s3Error(response, text) {
  if (text) {
    const doc = new DOMParser().parseFromString(text, 'application/xml');
    const root = doc.documentElement;
    if (root && root.localName === 'Error') {
      const code = childText(root, 'Code');
      const message = childText(root, 'Message') || statusWords(response.status);
      return new ConsoleError(`${message} (${code})`, code, response.status);
    }
  }
  return new ConsoleError(statusWords(response.status, response.statusText), null, response.status);
}

// Send one S3 request, presigned by the server for the signed-in key.
export async function s3(operation, { bucket, key, params, body, contentType, headers: amz } = {}) {
  const { method, url, headers: signed } = await presign(operation, bucket, key, params, amz);
  const headers = { ...(signed || {}) };
  if (contentType) headers['Content-Type'] = contentType;
  let response;
  try {
    response = await fetch(url, { method, body, headers, cache: 'no-store' });
  } catch (err) {
    throw new ConsoleError(`The gateway could not be reached (${err.message}).`);
  }
  const text = method === 'HEAD' ? '' : await response.text();
  if (!response.ok) throw s3Error(response, text);
  const xml = text ? new DOMParser().parseFromString(text, 'application/xml') : null;
  return { response, xml, text }; // text: a JSON answer's body (GetBucketPolicy)
}

// Words for an error raised by Uppy's S3 client (S3ServiceError keeps the XML body).
export function uploadErrorWords(err) {
  if (err instanceof ConsoleError) return err.message;
  if (err && typeof err.body === 'string' && err.body) {
    return s3Error({ status: err.status || 0 }, err.body).message;
  }
  if (err && err.status) return statusWords(err.status);
  return (err && err.message) || 'The upload failed.';
}

export const shares = {
  list: () => call('GET', '/shares'),
  create: (bucket, key, expires) => call('POST', '/shares', { bucket, key, expires }),
  revoke: (id) => call('DELETE', `/shares/${encodeURIComponent(id)}`),
};

// One IAM query API call, signed by the server for the signed-in key (the form body is
// signed by its hash) and posted by the browser to the endpoint, which authorizes it as
// any IAM call. Answers the response document; IAM's ErrorResponse becomes a ConsoleError.
export async function iam(action, params = {}) {
  const signed = await call('POST', '/iam', { action, params });
  let response;
  try {
    response = await fetch(signed.url, {
      method: signed.method, headers: signed.headers, body: signed.body, cache: 'no-store',
    });
  } catch (err) {
    throw new ConsoleError(`The gateway could not be reached (${err.message}).`);
  }
  const text = await response.text();
  const doc = text ? new DOMParser().parseFromString(text, 'application/xml') : null;
  if (!response.ok) {
    const error = doc && elements(doc, 'Error')[0];
    if (error) {
      const code = childText(error, 'Code');
      const message = childText(error, 'Message') || statusWords(response.status);
      throw new ConsoleError(`${message} (${code})`, code, response.status);
    }
    throw new ConsoleError(statusWords(response.status, response.statusText), null, response.status);
  }
  return doc;
}

// The administrator's API (accounts, their keys, quotas, usage) as the session's key.
export const admin = {
  get: (path) => call('GET', `/admin${path}`),
  post: (path, body) => call('POST', `/admin${path}`, body || {}),
  put: (path, body) => call('PUT', `/admin${path}`, body),
  patch: (path, body) => call('PATCH', `/admin${path}`, body),
  remove: (path) => call('DELETE', `/admin${path}`),
};

// The event notification targets configured on the gateway (names only) and the ARN
// parts a bucket's notification configuration names them with.
export const targets = () => call('GET', '/targets');
