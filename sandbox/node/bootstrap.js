// Spoke's Node.js sandbox bootstrap.
//
// It runs as the only program inside a bubblewrap sandbox and serves one
// invocation at a time for the Go host, over two pipes: fd 3 (host to worker)
// and fd 4 (worker to host). Each message is a 4-byte big-endian length
// followed by that many bytes of UTF-8 JSON.
//
// Host to worker: {"op":"invoke","id":N,"code":"...","env":{...},"event":{...}}
// ("code" and "env" only on the first invocation of a worker, which binds it
// to one action version and secret set for its whole life).
// Worker to host: {"op":"ready","version":"v20..."} once, then one
// {"op":"result","id":N,"status":"SUCCESS"|"ERROR","outputFields":{...},
// "error":{"type","message","stack"},"logs":"...","memoryBytes":N,
// "unhealthy":bool,"leftover":bool} per invocation ("leftover": a worker
// thread the code started still runs; the host then retires the worker).
//
// As on HubSpot, a result is delivered once the function has called back (or
// returned) and the event loop has drained: the bootstrap holds no handle of
// its own while user code runs (pipes are read synchronously), so Node's
// 'beforeExit' event marks the drained loop.
'use strict';

const fs = require('fs');
const net = require('net');
const tls = require('tls');
const http = require('http');
const https = require('https');
const util = require('util');
const Module = require('module');
const vm = require('vm');

const IN_FD = 3;
const OUT_FD = 4;
const EGRESS_SOCK = '/run/spoke/egress.sock';
const LIB_DIR = '/opt/spoke/node_modules';
const LOG_CAP = 64 * 1024;
const ACTION_FILE = '/action/index.js';

const opts = JSON.parse(process.argv[2] || '{}');

// ---- threads --------------------------------------------------------------

// Nothing the code starts may outlive its invocation. The host kills leftover
// processes; a worker thread (worker_threads.Worker, which may be unref()'d
// so that the loop drains while it runs) it cannot kill without the
// interpreter, so the bootstrap tracks them and reports a live one.
const liveWorkers = new Set();
{
  const wt = require('worker_threads');
  const Worker = wt.Worker;
  wt.Worker = class extends Worker {
    constructor(...args) {
      super(...args);
      liveWorkers.add(this);
      this.once('exit', () => liveWorkers.delete(this));
    }
  };
}

// ---- framed protocol ------------------------------------------------------

const header = Buffer.alloc(4);

function readFull(buf) {
  let off = 0;
  while (off < buf.length) {
    let n;
    try {
      n = fs.readSync(IN_FD, buf, off, buf.length - off, null);
    } catch (e) {
      if (e.code === 'EAGAIN') {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        continue;
      }
      throw e;
    }
    if (n === 0) return false;
    off += n;
  }
  return true;
}

function readMessage() {
  if (!readFull(header)) return null;
  const body = Buffer.allocUnsafe(header.readUInt32BE(0));
  if (!readFull(body)) return null;
  return JSON.parse(body.toString('utf8'));
}

function writeMessage(msg) {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  const buf = Buffer.allocUnsafe(4 + body.length);
  buf.writeUInt32BE(body.length, 0);
  body.copy(buf, 4);
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(OUT_FD, buf, off, buf.length - off);
    } catch (e) {
      if (e.code === 'EAGAIN') continue;
      throw e;
    }
  }
}

// ---- logs -----------------------------------------------------------------

let secrets = [];
let logLen = 0;
let logTruncated = false;

function redact(s) {
  for (const v of secrets) {
    if (v && s.includes(v)) s = s.split(v).join('[REDACTED]');
  }
  return s;
}

function appendLog(level, text) {
  if (logTruncated) return;
  let line = new Date().toISOString() + '\t' + level + '\t' + redact(String(text));
  if (!line.endsWith('\n')) line += '\n';
  if (logLen + line.length > LOG_CAP) {
    line = line.slice(0, Math.max(0, LOG_CAP - logLen)) + '\n[log truncated at 64 KB]\n';
    logTruncated = true;
  }
  logLen += line.length;
  // Stream each line to the host at once, so that the logs of an
  // invocation that times out or crashes are not lost.
  writeMessage({ op: 'log', text: line });
}

for (const [name, level] of [['log', 'INFO'], ['info', 'INFO'], ['debug', 'DEBUG'], ['trace', 'TRACE'], ['warn', 'WARN'], ['error', 'ERROR']]) {
  console[name] = (...args) => appendLog(level, util.format(...args));
}
console.dir = (obj, o) => appendLog('INFO', util.inspect(obj, o));
for (const [stream, level] of [[process.stdout, 'INFO'], [process.stderr, 'ERROR']]) {
  stream.write = (chunk, enc, cb) => {
    appendLog(level, Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk));
    if (typeof enc === 'function') enc();
    else if (typeof cb === 'function') cb();
    return true;
  };
}

// ---- egress ---------------------------------------------------------------

// openTunnel asks the host's egress proxy, over the Unix socket bound into
// the sandbox, for a TCP tunnel to host:port.
function openTunnel(host, port, cb) {
  const target = (net.isIPv6(host) ? '[' + host + ']' : host) + ':' + port;
  const s = net.connect(EGRESS_SOCK);
  let buf = Buffer.alloc(0);
  let done = false;
  const finish = (err, sock) => {
    if (done) return;
    done = true;
    s.removeListener('data', onData);
    s.removeListener('error', onError);
    s.removeListener('end', onEnd);
    cb(err, sock);
  };
  const onError = (err) => {
    const e = new Error('egress proxy unavailable for ' + target + ': ' + err.message);
    e.code = err.code || 'ECONNREFUSED';
    finish(e);
  };
  let status = 0;
  let headers = '';
  const fail = () => {
    const body = buf.toString('utf8').trim();
    let e;
    if (/x-spoke-egress:\s*EGRESS_DENIED/i.test(headers)) {
      e = new Error(body || 'EGRESS_DENIED: connection to ' + target + ' refused');
      e.code = 'EGRESS_DENIED';
    } else {
      e = new Error('egress proxy could not connect to ' + target + ': ' + (body || 'status ' + status));
      e.code = 'ECONNREFUSED';
    }
    e.host = target;
    s.destroy();
    finish(e);
  };
  const onEnd = () => {
    if (status) fail();
    else onError(new Error('connection closed'));
  };
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    if (!status) {
      const i = buf.indexOf('\r\n\r\n');
      if (i < 0) return;
      headers = buf.subarray(0, i).toString('latin1');
      status = parseInt(headers.split(' ')[1], 10) || 502;
      buf = buf.subarray(i + 4);
      if (status === 200) {
        // The socket stays flowing: in HTTP and TLS the client speaks
        // first, so nothing arrives before the caller attaches its reader.
        if (buf.length) s.unshift(buf);
        finish(null, s);
      }
    }
  };
  s.on('data', onData);
  s.on('error', onError);
  s.on('end', onEnd);
  s.once('connect', () => {
    s.write('CONNECT ' + target + ' HTTP/1.1\r\nHost: ' + target + '\r\n\r\n');
  });
}

function tlsOver(sock, o) {
  const servername = o.servername || (net.isIP(o.host || '') ? undefined : o.host);
  return tls.connect(Object.assign({}, o, { socket: sock, servername, host: undefined, port: undefined, path: undefined }));
}

class TunnelAgent extends http.Agent {
  createConnection(o, cb) {
    openTunnel(o.host || o.hostname || 'localhost', o.port || 80, cb);
  }
}

class TunnelTLSAgent extends https.Agent {
  createConnection(o, cb) {
    openTunnel(o.host || o.hostname || 'localhost', o.port || 443, (err, s) => {
      if (err) return cb(err);
      cb(null, tlsOver(s, o));
    });
  }
}

// Every agent tunnels, including agents that libraries create themselves
// (aws-sdk, googleapis, user code's keep-alive agents): patch the
// prototypes, and replace the global agents with ones that do not keep
// connections alive, so that idle sockets never hold the event loop open.
http.Agent.prototype.createConnection = TunnelAgent.prototype.createConnection;
https.Agent.prototype.createConnection = TunnelTLSAgent.prototype.createConnection;
http.globalAgent = new TunnelAgent({ keepAlive: false });
https.globalAgent = new TunnelTLSAgent({ keepAlive: false });

// fetch() uses undici's global dispatcher; install one whose connector
// tunnels through the proxy. undici is loaded on first use of fetch.
const dispatcherSym = Symbol.for('undici.globalDispatcher.1');
let undiciLoading = false;
Object.defineProperty(globalThis, dispatcherSym, {
  configurable: true,
  enumerable: false,
  get() {
    // undici asks for the global dispatcher while it loads; answer
    // undefined then, and replace its default with the tunnelling agent.
    if (undiciLoading) return undefined;
    undiciLoading = true;
    let undici;
    try {
      undici = require(LIB_DIR + '/undici');
    } finally {
      undiciLoading = false;
    }
    const agent = new undici.Agent({
      connect(o, cb) {
        const port = o.port || (o.protocol === 'https:' ? 443 : 80);
        openTunnel(o.hostname, port, (err, s) => {
          if (err) return cb(err);
          if (o.protocol !== 'https:') return cb(null, s);
          const t = tlsOver(s, { host: o.hostname, servername: o.servername, ALPNProtocols: ['http/1.1'] });
          let settled = false;
          t.once('secureConnect', () => { if (!settled) { settled = true; cb(null, t); } });
          t.once('error', (e) => { if (!settled) { settled = true; cb(e); } });
        });
      },
    });
    undici.setGlobalDispatcher(agent);
    return agent;
  },
});

// DNS: the sandbox has no resolver; the egress proxy answers lookups over
// the same socket, under the same rules as connections (refused names and
// private or loopback answers fail with EGRESS_DENIED). Numeric addresses
// answer locally, as Node's own lookup does.
function resolveViaProxy(hostname, cb) {
  const s = net.connect(EGRESS_SOCK);
  let buf = Buffer.alloc(0);
  let done = false;
  const finish = (err, addrs) => {
    if (done) return;
    done = true;
    s.destroy();
    cb(err, addrs);
  };
  s.on('data', (d) => { buf = Buffer.concat([buf, d]); });
  s.on('error', (err) => {
    const e = new Error('getaddrinfo ' + (err.code || 'EAI_AGAIN') + ' ' + hostname + ': egress proxy unavailable');
    e.code = 'EAI_AGAIN';
    e.hostname = hostname;
    finish(e);
  });
  s.on('end', () => {
    const i = buf.indexOf('\r\n\r\n');
    const head = i < 0 ? '' : buf.subarray(0, i).toString('latin1');
    const body = i < 0 ? '' : buf.subarray(i + 4).toString('utf8');
    const status = parseInt(head.split(' ')[1], 10) || 0;
    if (status === 200) {
      let addrs = [];
      try { addrs = JSON.parse(body).addresses || []; } catch (e) { /* empty answer below */ }
      return finish(null, addrs);
    }
    let e;
    if (/x-spoke-egress:\s*EGRESS_DENIED/i.test(head)) {
      e = new Error(body.trim() || 'EGRESS_DENIED: lookup of ' + hostname + ' refused');
      e.code = 'EGRESS_DENIED';
    } else {
      e = new Error('getaddrinfo ENOTFOUND ' + hostname);
      e.code = 'ENOTFOUND';
      e.errno = -3008;
    }
    e.syscall = 'getaddrinfo';
    e.hostname = hostname;
    finish(e);
  });
  s.once('connect', () => {
    s.write('GET /.spoke/resolve?name=' + encodeURIComponent(hostname) + ' HTTP/1.1\r\nHost: spoke\r\nConnection: close\r\n\r\n');
  });
}

const dns = require('dns');
const origLookup = dns.lookup;

function proxyLookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  } else if (typeof options === 'number') {
    options = { family: options };
  } else if (options == null) {
    options = {};
  }
  if (typeof callback !== 'function') return origLookup(hostname, options, callback);
  if (!hostname || net.isIP(hostname)) return origLookup(hostname, options, callback);
  const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family | 0);
  resolveViaProxy(String(hostname), (err, addrs) => {
    if (err) return callback(err);
    let list = addrs.map((a) => ({ address: a, family: net.isIPv6(a) ? 6 : 4 }));
    if (family === 4 || family === 6) list = list.filter((a) => a.family === family);
    if (options.order === 'ipv6first') list.sort((a, b) => b.family - a.family);
    else if (options.order !== 'verbatim' && options.verbatim === false) list.sort((a, b) => a.family - b.family);
    if (list.length === 0) {
      const e = new Error('getaddrinfo ENOTFOUND ' + hostname);
      e.code = 'ENOTFOUND';
      e.errno = -3008;
      e.syscall = 'getaddrinfo';
      e.hostname = hostname;
      return callback(e);
    }
    if (options.all) return callback(null, list);
    callback(null, list[0].address, list[0].family);
  });
  return {};
}
dns.lookup = proxyLookup;
dns.promises.lookup = (hostname, options) => new Promise((resolve, reject) => {
  proxyLookup(hostname, options, (err, address, family) => {
    if (err) return reject(err);
    resolve(Array.isArray(address) ? address : { address, family });
  });
});

// HTTPS to api.hubapi.com and api.hubspot.com reaches Spoke's API: the egress
// proxy terminates it with a certificate from Spoke's CA, which this process
// trusts through NODE_EXTRA_CA_CERTS. @hubspot/api-client therefore needs no
// patch: its default basePath, https://api.hubapi.com, is Spoke.

for (const lib of opts.preload || []) {
  try {
    require(LIB_DIR + '/' + lib);
  } catch (e) {
    // A missing library is reported when user code requires it.
  }
}

// Collect the garbage of start-up and preloading now, while the worker is
// a spare, rather than in the middle of its first invocation.
if ((opts.preload || []).length > 0) {
  try {
    require('v8').setFlagsFromString('--expose-gc');
    vm.runInNewContext('gc')();
  } catch (e) {
    // Not essential.
  }
}

// ---- invocations ----------------------------------------------------------

let main = null;
let bound = false;
let inv = null;

function errInfo(e) {
  if (e instanceof Error || (e && typeof e === 'object' && 'message' in e)) {
    return { message: String(e.message), stack: typeof e.stack === 'string' ? e.stack : '' };
  }
  return { message: util.inspect(e), stack: '' };
}

function statusOf(e) {
  if (!e || typeof e !== 'object') return 0;
  const cands = [e.response && e.response.status, e.response && e.response.statusCode, e.status, e.statusCode, typeof e.code === 'number' ? e.code : undefined];
  for (const c of cands) if (typeof c === 'number' && c >= 100 && c < 600) return c;
  return 0;
}

function chainHas(e, pred) {
  for (let i = 0; e && i < 8; i++, e = e.cause) if (pred(e)) return true;
  return false;
}

function classify(e) {
  if (chainHas(e, (x) => { const s = statusOf(x); return s === 429 || s >= 500; })) return 'RATE_LIMITED';
  if (chainHas(e, (x) => typeof x === 'object' && /rate.?limit/i.test(String(x.name || '') + ' ' + String(x.code || '')))) return 'RATE_LIMITED';
  if (chainHas(e, (x) => typeof x === 'object' && (x.code === 'EGRESS_DENIED' || /EGRESS_DENIED/.test(String(x.message || ''))))) return 'EGRESS_DENIED';
  if (chainHas(e, (x) => typeof x === 'object' && (x.code === 'ENETUNREACH' || x.code === 'EHOSTUNREACH'))) return 'EGRESS_DENIED';
  if (e instanceof RangeError && /allocation failed|out of memory|Invalid typed array length|Array buffer/i.test(String(e.message))) return 'MEMORY_LIMIT';
  if (e && /rate.?limit/i.test(String(e.message || '')) && !(e instanceof SyntaxError)) return 'RATE_LIMITED';
  return 'UNCAUGHT_ERROR';
}

function setError(type, e, unhealthy) {
  if (!inv) return;
  if (unhealthy) inv.unhealthy = true;
  if (inv.error) return;
  const info = errInfo(e);
  if (type === 'EGRESS_DENIED' && !/EGRESS_DENIED/.test(info.message)) {
    let denied = null;
    for (let x = e, i = 0; x && i < 8; i++, x = x.cause) {
      if (typeof x === 'object' && /EGRESS_DENIED/.test(String(x.message || ''))) { denied = String(x.message); break; }
    }
    info.message = denied
      ? info.message + ': ' + denied
      : 'EGRESS_DENIED: raw network connections are not available in the sandbox; use HTTP(S), which goes through Spoke\'s egress proxy (' + info.message + ')';
  }
  inv.error = { type, message: redact(info.message), stack: redact(info.stack) };
}

process.on('uncaughtException', (e) => {
  if (!inv) return;
  appendLog('ERROR', 'Uncaught ' + (e && e.stack ? e.stack : util.inspect(e)));
  setError(classify(e), e, true);
});
process.on('unhandledRejection', (e) => {
  if (!inv) return;
  appendLog('ERROR', 'Unhandled promise rejection: ' + (e && e.stack ? e.stack : util.inspect(e)));
  setError(classify(e), e, true);
});

function load(code, env) {
  for (const k of Object.keys(process.env)) delete process.env[k];
  secrets = [];
  for (const [k, v] of Object.entries(env || {})) {
    process.env[k] = String(v);
    if (String(v).length >= 3) secrets.push(String(v));
  }
  secrets.sort((a, b) => b.length - a.length);
  try {
    new vm.Script(Module.wrap(code), { filename: ACTION_FILE });
  } catch (e) {
    setError('SYNTAX_ERROR', e, true);
    return;
  }
  const m = new Module(ACTION_FILE, null);
  m.filename = ACTION_FILE;
  m.paths = Module._nodeModulePaths('/action').concat([LIB_DIR]);
  try {
    m._compile(code, ACTION_FILE);
  } catch (e) {
    setError(classify(e), e, true);
    return;
  }
  main = m.exports && m.exports.main;
  if (typeof main !== 'function') {
    inv.error = { type: 'UNCAUGHT_ERROR', message: 'exports.main is not a function', stack: '' };
    inv.unhealthy = true;
  }
}

function begin(msg) {
  logLen = 0;
  logTruncated = false;
  inv = { id: msg.id, error: null, output: undefined, called: false, settled: false, returned: undefined, unhealthy: false, callbackStyle: false };
  if (!bound) {
    bound = true;
    load(msg.code, msg.env);
  }
  if (inv.error) return;
  const cur = inv;
  cur.callbackStyle = main.length >= 2;
  const callback = (out) => {
    if (cur.called) return;
    cur.called = true;
    cur.output = out;
  };
  let ret;
  const event = msg.event;
  // Published snippets read inputs from event.fields as well as
  // event.inputFields: the same object under both names.
  if (event && event.inputFields && !('fields' in event)) event.fields = event.inputFields;
  try {
    ret = main(event, callback);
  } catch (e) {
    setError(classify(e), e, false);
    return;
  }
  if (ret && typeof ret.then === 'function') {
    ret.then(
      (v) => { cur.settled = true; cur.returned = v; },
      (e) => { cur.settled = true; if (inv === cur) setError(classify(e), e, false); },
    );
  } else {
    cur.settled = true;
    cur.returned = ret;
  }
}

function outputOf(cur) {
  let out;
  if (cur.called) out = cur.output;
  else if (cur.settled && cur.returned !== undefined) out = cur.returned;
  else if (cur.settled && !cur.callbackStyle) out = {};
  else {
    return { error: { type: 'INVALID_OUTPUT', message: 'main finished without calling callback() or returning {outputFields}; the event loop drained with no result', stack: '' } };
  }
  if (out === null || typeof out !== 'object' || Array.isArray(out)) {
    return { error: { type: 'INVALID_OUTPUT', message: 'the result must be an object like {outputFields: {...}}, got ' + (Array.isArray(out) ? 'an array' : out === null ? 'null' : typeof out), stack: '' } };
  }
  const fields = out.outputFields === undefined ? {} : out.outputFields;
  if (fields === null || typeof fields !== 'object' || Array.isArray(fields)) {
    return { error: { type: 'INVALID_OUTPUT', message: 'outputFields must be an object, got ' + (Array.isArray(fields) ? 'an array' : fields === null ? 'null' : typeof fields), stack: '' } };
  }
  try {
    return { fields: JSON.parse(JSON.stringify(fields)) };
  } catch (e) {
    return { error: { type: 'INVALID_OUTPUT', message: 'outputFields is not serialisable to JSON: ' + e.message, stack: '' } };
  }
}

function finish() {
  const cur = inv;
  const res = { op: 'result', id: cur.id, status: 'SUCCESS', outputFields: {}, logs: '', memoryBytes: 0, unhealthy: cur.unhealthy };
  if (!cur.error) {
    const o = outputOf(cur);
    if (o.error) cur.error = o.error;
    else res.outputFields = o.fields;
  }
  if (cur.error) {
    res.status = 'ERROR';
    res.error = cur.error;
    res.unhealthy = cur.unhealthy;
  }
  if (!opts.cgroupMemory) res.memoryBytes = process.memoryUsage.rss();
  if (liveWorkers.size > 0) res.leftover = true;
  inv = null;
  writeMessage(res);
}

function next() {
  const msg = readMessage();
  if (msg === null) process.reallyExit(0);
  begin(msg);
  // Keep the loop turning at least once more, so that 'beforeExit' fires
  // again even when the invocation scheduled no asynchronous work.
  setImmediate(() => {});
}

process.on('beforeExit', () => {
  if (!inv) return;
  finish();
  next();
});

writeMessage({ op: 'ready', version: process.version });
next();
