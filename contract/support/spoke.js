'use strict';
// Shared helpers for the contract tests. Not a test file itself: node --test
// only picks up *.test.js here.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const nodeTest = require('node:test');
const hubspot = require('@hubspot/api-client');

const SPOKE_URL = (process.env.SPOKE_URL || '').replace(/\/+$/, '');
const SPOKE_TOKEN = process.env.SPOKE_TOKEN || '';

if (!SPOKE_URL || !SPOKE_TOKEN) {
  throw new Error(
    'SPOKE_URL and SPOKE_TOKEN must be set (e.g. SPOKE_URL=http://127.0.0.1:8080 SPOKE_TOKEN=$SPOKE_ADMIN_TOKEN); ' +
      'or run the suite through `go test ./contract/`',
  );
}

// A short token unique to this process, used to keep emails, names and
// search scopes of one run apart from every other run on the same server.
const RUN = `${Date.now().toString(36)}${crypto.randomBytes(3).toString('hex')}`;

// Every test and hook gets a timeout, so a request the server never answers
// fails the test that made it, by name. TestContract also bounds each file
// (--test-timeout) and the whole run.
const TEST_TIMEOUT = Number(process.env.SPOKE_TEST_TIMEOUT_MS) || 20000;

function withTimeout(opts) {
  return { timeout: TEST_TIMEOUT, ...(opts || {}) };
}

/** it is node:test's it with a default timeout. */
function it(name, opts, fn) {
  if (typeof opts === 'function') return nodeTest.it(name, withTimeout(), opts);
  return nodeTest.it(name, withTimeout(opts), fn);
}

/** before is node:test's before with a default timeout. */
function before(fn, opts) {
  return nodeTest.before(fn, withTimeout(opts));
}

let seq = 0;
/** uniq returns a lowercase identifier unique within the run. */
function uniq(prefix = 'x') {
  seq += 1;
  return `${prefix}${RUN}n${seq}`;
}

/** email returns a unique lowercase email address. */
function email(local = 'c') {
  return `${uniq(local)}@contract.example`;
}

/** client returns a typed client pointed at Spoke (no retries, no limiter). */
function client(opts = {}) {
  return new hubspot.Client({ accessToken: SPOKE_TOKEN, basePath: SPOKE_URL, ...opts });
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * rejects awaits p, asserts it threw an ApiException with the HTTP status
 * `code` (a number, or an array of acceptable numbers) and the HubSpot error envelope, and returns the parsed body.
 */
async function rejects(p, code, what = '') {
  let err;
  try {
    const v = await p;
    assert.fail(`${what}: expected HTTP ${code}, but the call resolved with ${short(v)}`);
  } catch (e) {
    if (e && e.code === 'ERR_ASSERTION') throw e;
    err = e;
  }
  assert.ok(
    err && typeof err.code === 'number',
    `${what}: expected an ApiException with a numeric .code (HTTP ${code}), got ${err && err.stack ? err.stack : err}`,
  );
  if (Array.isArray(code)) {
    assert.ok(code.includes(err.code), `${what}: HTTP status ${err.code}, want one of ${code}; body: ${short(err.body)}`);
  } else {
    assert.equal(err.code, code, `${what}: HTTP status; body: ${short(err.body)}`);
  }
  assertEnvelope(err.body, what);
  return err.body;
}

/** assertEnvelope checks the HubSpot error envelope (reference §2.8). */
function assertEnvelope(body, what = '') {
  assert.ok(body && typeof body === 'object', `${what}: error body must be a JSON object, got ${short(body)}`);
  assert.equal(body.status, 'error', `${what}: body.status; body: ${short(body)}`);
  assert.equal(typeof body.message, 'string', `${what}: body.message; body: ${short(body)}`);
  assert.ok(body.message.length > 0, `${what}: body.message must not be empty`);
  assert.equal(typeof body.category, 'string', `${what}: body.category; body: ${short(body)}`);
  assert.ok(body.category.length > 0, `${what}: body.category must not be empty`);
  assert.match(String(body.correlationId), UUID_RE, `${what}: body.correlationId must be a UUID; body: ${short(body)}`);
}

/** short renders v for an assertion message. */
function short(v) {
  let s;
  try {
    s = JSON.stringify(v);
  } catch {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > 600 ? `${s.slice(0, 600)}…` : s;
}

/** raw performs an HTTP request with Node's fetch and returns {res, text, json}. */
async function raw(method, path, { body, token = SPOKE_TOKEN, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined && !h['Content-Type']) h['Content-Type'] = 'application/json';
  const res = await fetch(SPOKE_URL + path, {
    method,
    headers: h,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    redirect: 'manual',
  });
  const text = await res.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { res, text, json };
}

/** assertJSON checks that a fetch Response says Content-Type: application/json. */
function assertJSON(res, what = '') {
  const ct = res.headers.get('content-type') || '';
  assert.match(ct, /^application\/json\b/i, `${what}: Content-Type must be application/json, got ${JSON.stringify(ct)}`);
}

/** ids maps objects to their sorted ids. */
function ids(results) {
  return results.map((r) => String(r.id)).sort();
}

/** sorted returns a sorted copy of string ids. */
function sorted(list) {
  return list.map(String).sort();
}

/** isDate checks the client turned a timestamp into a valid Date. */
function assertDate(d, what) {
  assert.ok(d instanceof Date && !Number.isNaN(d.getTime()), `${what} must be an ISO-8601 timestamp, got ${short(d)}`);
}

/** sameInstant says whether a datetime property value denotes the epoch ms `ms` (ISO string or epoch-ms string). */
function sameInstant(value, ms) {
  if (value === null || value === undefined) return false;
  if (/^\d+$/.test(String(value))) return Number(value) === ms;
  return Date.parse(value) === ms;
}

module.exports = {
  describe: nodeTest.describe,
  it,
  before,
  hubspot,
  SPOKE_URL,
  SPOKE_TOKEN,
  RUN,
  uniq,
  email,
  client,
  rejects,
  assertEnvelope,
  short,
  raw,
  assertJSON,
  ids,
  sorted,
  assertDate,
  sameInstant,
  UUID_RE,
};
