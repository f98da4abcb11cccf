'use strict';
// eslint-plugin-spoke: Spoke's checks of HubSpot custom code actions, as an
// ESLint plugin. Every rule reads the action's declared inputs, outputs and
// preinstalled modules from settings.spoke: {inputs: [..]|null,
// outputs: [..]|null, modules: [..], timeoutMs: 20000}. A null list means
// "not known": the rule that needs it stays silent.

const { builtinModules } = require('module');
const { analyze, walk, isFunction, propName, unwrap, lineOf, LOG_METHODS } = require('./analysis');
const { credentialIn, mask } = require('./credentials');
const { analyzeCallback } = require('./callback');

function rule(description, create) {
  return { meta: { type: 'problem', docs: { description }, schema: [] }, create };
}

// onExit runs check once the whole file has been parsed.
function onExit(check) {
  return (context) => ({ 'Program:exit'() { check(context, analyze(context)); } });
}

const callName = (facts, call) => facts.sc.getText(call.callee).replace(/\s+/g, '');

// ---- hard-coded credentials -------------------------------------------

function nameFor(node) {
  const p = node.parent;
  if (!p) return '';
  if (p.type === 'VariableDeclarator' && p.init === node && p.id.type === 'Identifier') return p.id.name;
  if (p.type === 'Property' && p.value === node) return propName(p) || '';
  if (p.type === 'AssignmentExpression' && p.right === node) {
    return p.left.type === 'Identifier' ? p.left.name : p.left.type === 'MemberExpression' ? propName(p.left) || '' : '';
  }
  if (p.type === 'AssignmentPattern' && p.right === node && p.left.type === 'Identifier') return p.left.name;
  if (p.type === 'BinaryExpression' || p.type === 'TemplateLiteral') return nameFor(p);
  return '';
}

const hardcodedCredential = rule('A credential written into the code instead of read from a secret.', onExit((context, facts) => {
  walk(facts.ast, (n) => {
    let value = null;
    if (n.type === 'Literal' && typeof n.value === 'string') value = n.value;
    else if (n.type === 'TemplateElement') value = n.value.cooked;
    if (value === null || (n.parent && n.parent.type === 'ImportDeclaration')) return;
    const what = credentialIn(value, nameFor(n.type === 'TemplateElement' ? n.parent : n));
    if (!what) return;
    context.report({ node: n, message: `Hard-coded ${what} (${mask(value)}): anyone who can see this workflow can read it. ` +
      'Store it as a secret, select it in the action\'s secretNames and read it with process.env.NAME.' });
  });
}));

// ---- secrets in logs ----------------------------------------------------

const secretInLog = rule('A secret\'s value written to the action\'s logs.', onExit((context, facts) => {
  walk(facts.ast, (n) => {
    if (n.type !== 'CallExpression' || n.callee.type !== 'MemberExpression') return;
    const obj = n.callee.object;
    if (!(obj.type === 'Identifier' && obj.name === 'console' && LOG_METHODS.has(propName(n.callee)))) return;
    for (const arg of n.arguments) {
      const s = facts.secretIn(arg);
      if (s) {
        context.report({ node: arg, message: `The value of ${s} is written to the action log, which every workflow user can read. ` +
          'Log that the secret is set (Boolean(process.env.NAME)), never its value.' });
        return;
      }
    }
  });
}));

// ---- input fields ---------------------------------------------------------

const uncheckedInput = rule('An input field dereferenced without a null or empty check.', onExit((context, facts) => {
  const names = [...new Set(facts.inputReads.map((r) => r.name))];
  for (const name of names) {
    const uses = facts.usesOf(name);
    let checked = false;
    for (const u of uses) {
      if (u.read.defaulted) { checked = true; break; }
      if (u.write) { checked = true; continue; }
      const init = u.direct && u.read.variable ? u.node.parent : null;
      // const email = event.inputFields.email || '' gives a default.
      if (u.direct && facts.isTestPosition(u.node)) { checked = true; continue; }
      if (!u.direct && facts.isTestPosition(u.node)) { checked = true; continue; }
      if (!checked && facts.dereferences(u.node) && !init) {
        const shown = facts.sc.getText(u.node.parent).slice(0, 60);
        context.report({ node: u.node, message: `Input field "${name}" is used (${shown}) without a check: HubSpot passes null or "" ` +
          `when the property is empty, and this throws a TypeError that fails the action. Check it first ` +
          `(if (!${u.direct ? 'value' : u.node.name}) ...) or give a default (event.inputFields.${name} || '').` });
        break;
      }
    }
  }
}));

const inputUndeclared = rule('An input field read by the code but not declared in the action\'s inputFields.', onExit((context, facts) => {
  const declared = facts.settings.inputs;
  if (!Array.isArray(declared)) return;
  const seen = new Set();
  for (const r of facts.inputReads) {
    if (declared.includes(r.name) || seen.has(r.name)) continue;
    seen.add(r.name);
    context.report({ node: r.node, message: `Input field "${r.name}" is not declared in the action's inputFields, so it is always undefined. ` +
      `Declare it, or use one of: ${declared.length ? declared.join(', ') : '(none declared)'}.` });
  }
}));

// ---- external calls --------------------------------------------------------

const LIB = { axios: 'axios', fetch: 'fetch', hubspot: '@hubspot/api-client', request: 'request' };

const unhandledCall = rule('A network call with no error handling.', onExit((context, facts) => {
  for (const c of facts.externalCalls) {
    if (facts.isHandled(c.node)) continue;
    context.report({ node: c.node, message: `${callName(facts, c.node)}() (${LIB[c.kind]}) has no error handling. Wrap it in try/catch, ` +
      'log what failed with the record id, and rethrow 429 and 5xx errors so HubSpot retries the action.' });
  }
}));

// throwsIn reports whether a catch body throws or rejects outside nested
// functions, or mentions 429 (a hand-made retry).
function rethrows(body) {
  let found = false;
  walk(body, (n) => {
    if (found) return;
    if (n.type === 'ThrowStatement') {
      for (let p = n.parent; p && p !== body; p = p.parent) if (isFunction(p)) return;
      found = true;
    }
    if (n.type === 'Literal' && (n.value === 429 || n.value === '429')) found = true;
    if (n.type === 'CallExpression' && n.callee.type === 'MemberExpression' && propName(n.callee) === 'reject') found = true;
  });
  return found;
}

const rateLimitSwallowed = rule('A catch that swallows a 429 from a network call.', onExit((context, facts) => {
  for (const c of facts.externalCalls) {
    // try { await call() } catch (e) { ... }
    for (let p = c.node.parent, child = c.node; p; child = p, p = p.parent) {
      if (p.type === 'TryStatement' && p.block === child && p.handler) {
        if (!rethrows(p.handler.body)) {
          context.report({ node: p.handler, message: `This catch swallows every error of ${callName(facts, c.node)}() (line ${lineOf(c.node)}), ` +
            'including 429 rate limits: HubSpot retries the action only when the error is rethrown. Add ' +
            'if (err.response?.status === 429 || err.code === 429 || err.response?.status >= 500) throw err;' });
        }
        break;
      }
    }
    // call().catch(e => ...)
    let n = c.node;
    while (n.parent && n.parent.type === 'MemberExpression' && n.parent.object === n && n.parent.parent.type === 'CallExpression') {
      const name = propName(n.parent);
      const call = n.parent.parent;
      const handler = name === 'catch' ? call.arguments[0] : name === 'then' ? call.arguments[1] : null;
      if (handler && isFunction(handler) && !rethrows(handler.body)) {
        context.report({ node: handler, message: `This .${name}() handler swallows every error of ${callName(facts, c.node)}() ` +
          '(including 429 rate limits, which HubSpot retries only when rethrown). Rethrow them: throw err;' });
      }
      n = call;
    }
  }
}));

// ---- SSRF ----------------------------------------------------------------

// urlArg returns the expression that gives a network call its URL.
function urlArg(facts, c) {
  const a = c.node.arguments[0];
  if (!a) return null;
  if (c.kind === 'hubspot') return null; // the host is HubSpot's
  const v = unwrap(a);
  if (v.type === 'ObjectExpression') {
    const p = v.properties.find((p) => p.type === 'Property' && ['url', 'uri', 'baseURL'].includes(propName(p)));
    return p ? p.value : null;
  }
  return a;
}

const HOST_FIXED = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]+[/?#]/i;

// hostTaint returns the input field that decides the host of url, or null.
function hostTaint(facts, url, depth = 0) {
  url = unwrap(url);
  if (!url || depth > 5) return null;
  let parts = null;
  if (url.type === 'TemplateLiteral') {
    parts = [];
    url.quasis.forEach((q, i) => { parts.push(q.value.cooked || ''); if (i < url.expressions.length) parts.push(url.expressions[i]); });
  } else if (url.type === 'BinaryExpression' && url.operator === '+') {
    parts = [];
    (function flat(e) {
      if (e.type === 'BinaryExpression' && e.operator === '+') { flat(e.left); flat(e.right); } else parts.push(e.type === 'Literal' && typeof e.value === 'string' ? e.value : e);
    })(url);
  } else if (url.type === 'Identifier') {
    const v = facts.variableOf(url);
    const init = facts.initOf(v);
    const read = facts.inputReads.find((r) => r.variable === v);
    if (read) return read.name;
    if (init && v.defs[0].type === 'Variable' && v.defs[0].node.id.type === 'Identifier' && v.references.filter((r) => r.isWrite()).length <= 1) {
      return hostTaint(facts, init, depth + 1);
    }
    return facts.taintOf(url);
  } else if (url.type === 'NewExpression' && url.callee.type === 'Identifier' && url.callee.name === 'URL') {
    // new URL(path, base): the base decides the host.
    return url.arguments[1] ? hostTaint(facts, url.arguments[1], depth + 1) : hostTaint(facts, url.arguments[0], depth + 1);
  } else {
    return facts.taintOf(url);
  }
  let prefix = '';
  for (const p of parts) {
    if (typeof p === 'string') { prefix += p; continue; }
    if (HOST_FIXED.test(prefix)) return null;
    const t = facts.taintOf(p);
    if (t) return t;
    // An untainted expression (a constant base URL) is taken to fix the host.
    const v = facts.valueOf(p);
    if (v && v.type === 'Literal' && typeof v.value === 'string') prefix += v.value;
    else prefix += 'https://fixed.host/';
  }
  return null;
}

// validated reports whether a condition checks a value that carries input
// field name against a list or pattern (an allowlist check).
function validated(facts, name) {
  let ok = false;
  walk(facts.ast, (n) => {
    if (ok || !((n.type === 'IfStatement' || n.type === 'ConditionalExpression') && n.test)) return;
    let call = false;
    walk(n.test, (m) => {
      if (m.type === 'CallExpression' && m.callee.type === 'MemberExpression' &&
          ['includes', 'has', 'test', 'startsWith', 'endsWith', 'indexOf', 'match'].includes(propName(m.callee))) call = true;
    });
    if (!call) return;
    walk(n.test, (m) => {
      if (!ok && (m.type === 'Identifier' || m.type === 'MemberExpression') && facts.taintOf(m) === name) ok = true;
    });
  });
  return ok;
}

const ssrf = rule('A request URL whose host comes from an input field.', onExit((context, facts) => {
  for (const c of facts.externalCalls) {
    const url = urlArg(facts, c);
    if (!url) continue;
    const name = hostTaint(facts, url);
    if (!name || validated(facts, name)) continue;
    context.report({ node: url, message: `The host of this ${LIB[c.kind]} request comes from input field "${name}": a record's value decides ` +
      'where the request (and any secret in it) goes (SSRF). Hard-code the host, or check it against an allowlist ' +
      '(if (!ALLOWED_HOSTS.includes(new URL(url).hostname)) throw ...) before the call.' });
  }
}));

// ---- outputs -----------------------------------------------------------------

// returnedOutputs collects the keys of every outputFields object in the
// file: {keys: Map(name → node), dynamic: bool, any: bool}.
function returnedOutputs(facts) {
  const keys = new Map();
  let dynamic = false;
  let any = false;
  const addObject = (obj) => {
    obj = facts.valueOf(obj);
    if (!obj || obj.type !== 'ObjectExpression') { dynamic = true; return; }
    for (const p of obj.properties) {
      const k = p.type === 'Property' ? propName(p) : null;
      if (k === null) { dynamic = true; continue; }
      if (!keys.has(k)) keys.set(k, p);
    }
    // out.x = ... on a variable holding the object
    if (obj.parent && obj.parent.type === 'VariableDeclarator' && obj.parent.id.type === 'Identifier') {
      const v = facts.sc.getDeclaredVariables(obj.parent)[0];
      for (const ref of v ? v.references : []) {
        const m = ref.identifier.parent;
        if (m.type === 'MemberExpression' && m.object === ref.identifier && m.parent.type === 'AssignmentExpression' && m.parent.left === m) {
          const k = propName(m);
          if (k === null) dynamic = true; else if (!keys.has(k)) keys.set(k, m);
        }
      }
    }
  };
  walk(facts.ast, (n) => {
    if (n.type === 'Property' && propName(n) === 'outputFields' && n.parent.type === 'ObjectExpression') { any = true; addObject(n.value); }
  });
  // callback(result) or return result where result is not a literal: its
  // outputs cannot be read statically.
  if (facts.main) {
    walk(facts.main, (n) => {
      const arg = n.type === 'CallExpression' && facts.main.params[1] && n.callee.type === 'Identifier' && n.callee.name === facts.main.params[1].name
        ? n.arguments[0] : n.type === 'ReturnStatement' && facts.enclosingFunction(n) === facts.main ? n.argument : null;
      if (!arg) return;
      const v = facts.valueOf(arg);
      if (!v || v.type !== 'ObjectExpression') { dynamic = true; return; }
      if (!v.properties.some((p) => p.type === 'Property' && propName(p) === 'outputFields')) {
        if (v.properties.some((p) => p.type !== 'Property')) dynamic = true;
      }
    });
  }
  return { keys, dynamic, any };
}

const outputUndeclared = rule('An output returned but not declared in the action\'s outputFields.', onExit((context, facts) => {
  const declared = facts.settings.outputs;
  if (!Array.isArray(declared)) return;
  const { keys } = returnedOutputs(facts);
  for (const [k, node] of keys) {
    if (declared.includes(k)) continue;
    context.report({ node, message: `Output "${k}" is returned but not declared in the action's outputFields, so later actions cannot use it. ` +
      `Declare it (with its type) or fix the name (declared: ${declared.length ? declared.join(', ') : 'none'}).` });
  }
}));

const outputUnreturned = rule('An output declared in outputFields that the code never returns.', onExit((context, facts) => {
  const declared = facts.settings.outputs;
  if (!Array.isArray(declared) || declared.length === 0) return;
  const { keys, dynamic } = returnedOutputs(facts);
  if (dynamic) return;
  const at = facts.main || facts.ast;
  for (const name of declared) {
    if (keys.has(name)) continue;
    context.report({ node: at, loc: at.loc.start, message: `Output "${name}" is declared but never returned, so later actions always see it empty. ` +
      `Return it: callback({outputFields: {${name}: ...}}) or return {outputFields: {${name}: ...}}.` });
  }
}));

// ---- callback ----------------------------------------------------------------

function callbackRule(description, kinds, message) {
  return rule(description, onExit((context, facts) => {
    if (!facts.main) return;
    for (const f of analyzeCallback(facts.main, facts).findings) {
      if (!kinds.includes(f.kind)) continue;
      const loc = f.node.type === 'End' ? f.node.loc : undefined;
      context.report({ node: loc ? facts.main : f.node, loc: loc && loc.start, message: message(f) });
    }
  }));
}

const callbackNeverCalled = callbackRule('callback is never called on some path through main.', ['never', 'missing-path'], (f) =>
  f.kind === 'never'
    ? 'main(event, callback) never calls callback(), so the action fails with INVALID_OUTPUT. Call callback({outputFields: {...}}) ' +
      'when done, or drop the callback parameter and return {outputFields: {...}}.'
    : 'This path ends without calling callback() or returning {outputFields}, so the action fails with INVALID_OUTPUT. ' +
      'Call callback({outputFields: {}}) before returning.');

const callbackTwice = callbackRule('callback is called more than once on one path.', ['twice', 'loop'], (f) =>
  f.kind === 'loop'
    ? 'callback() is called inside a loop, so it may run more than once; only the first call counts. Collect the results and call it once after the loop.'
    : `callback() is called again after the call at line ${lineOf(f.call)}; only the first call counts. Return right after calling callback().`);

const callbackBeforeAwait = callbackRule('callback is called before an awaited call finishes.', ['before-await'], (f) =>
  `This await runs after callback() (line ${lineOf(f.call)}) has already sent the outputs: its result is not in them and its error ` +
  'cannot fail or retry the action. Call callback() after the last await.');

const unawaitedCall = rule('A network call whose promise is neither awaited, returned nor chained.', onExit((context, facts) => {
  for (const c of facts.externalCalls) {
    const p = c.node.parent;
    if (p.type !== 'ExpressionStatement') continue;
    if (c.kind === 'request') continue; // callback-style
    const fn = facts.enclosingFunction(c.node);
    if (!fn || !fn.async && fn !== facts.main) continue;
    context.report({ node: c.node, message: `${callName(facts, c.node)}() returns a promise that nothing awaits: the action can finish ` +
      'before it completes and its error is lost. Put await before it.' });
  }
}));

// ---- modules -------------------------------------------------------------------

function packageOf(spec) {
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const unavailableModule = rule('A module the runtime does not have.', onExit((context, facts) => {
  const modules = facts.settings.modules;
  if (!Array.isArray(modules)) return;
  const check = (node, spec) => {
    if (typeof spec !== 'string') return;
    if (spec.startsWith('.') || spec.startsWith('/')) {
      context.report({ node, message: `"${spec}" is a file path: a custom code action is one file and cannot load other files. Paste the code into the action.` });
      return;
    }
    const pkg = packageOf(spec);
    if (builtinModules.includes(pkg.replace(/^node:/, '')) || modules.includes(pkg)) return;
    context.report({ node, message: `"${pkg}" is not available in the Node runtime: only Node's built-in modules and the libraries HubSpot ` +
      `preinstalls can be loaded (${modules.join(', ')}). Use one of them, or call the service with axios.` });
  };
  walk(facts.ast, (n) => {
    if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === 'require' && n.arguments[0] && n.arguments[0].type === 'Literal') {
      const v = facts.variableOf(n.callee);
      if (!v || v.defs.length === 0) check(n.arguments[0], n.arguments[0].value);
    }
    if ((n.type === 'ImportDeclaration' || n.type === 'ExportAllDeclaration' || n.type === 'ExportNamedDeclaration') && n.source) check(n.source, n.source.value);
    if (n.type === 'ImportExpression' && n.source.type === 'Literal') check(n.source, n.source.value);
  });
}));

// ---- time limit ------------------------------------------------------------------

function literalNumber(facts, n) {
  const v = facts.valueOf(n);
  if (v && v.type === 'Literal' && typeof v.value === 'number') return v.value;
  if (v && v.type === 'BinaryExpression' && v.operator === '*') {
    const a = literalNumber(facts, v.left);
    const b = literalNumber(facts, v.right);
    return a !== null && b !== null ? a * b : null;
  }
  return null;
}

function containsSetTimeout(node) {
  let found = false;
  walk(node, (n) => {
    if (n.type === 'CallExpression' && ((n.callee.type === 'Identifier' && n.callee.name === 'setTimeout') ||
        (n.callee.type === 'MemberExpression' && propName(n.callee) === 'setTimeout'))) found = true;
  });
  return found;
}

// sleepOf returns {ms} when call waits (setTimeout, a promisified sleep, a
// helper that wraps setTimeout), with ms null when it is not a constant.
function sleepOf(facts, call) {
  if (call.type === 'NewExpression' && call.callee.type === 'Identifier' && call.callee.name === 'Promise' && call.arguments[0] && containsSetTimeout(call.arguments[0])) {
    let ms = null;
    walk(call.arguments[0], (n) => {
      if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === 'setTimeout' && n.arguments[1]) ms = literalNumber(facts, n.arguments[1]);
    });
    return { ms };
  }
  if (call.type !== 'CallExpression') return null;
  const callee = call.callee;
  const m = facts.moduleOf(callee);
  if (m && (m.module === 'timers/promises' || m.module === 'node:timers/promises') && m.path[0] === 'setTimeout') {
    return { ms: call.arguments[0] ? literalNumber(facts, call.arguments[0]) : 0 };
  }
  if (callee.type === 'Identifier' && callee.name === 'setTimeout') return null; // fire-and-forget timer, not a wait
  if (callee.type === 'Identifier') {
    const fn = facts.valueOf(callee);
    if (isFunction(fn) && containsSetTimeout(fn.body)) return { ms: call.arguments[0] ? literalNumber(facts, call.arguments[0]) : null };
  }
  return null;
}

const LOOPS = new Set(['WhileStatement', 'DoWhileStatement', 'ForStatement', 'ForInStatement', 'ForOfStatement']);

// exitsLoop reports whether loop's body can leave it: a break aimed at it,
// a return or a throw outside nested functions.
function exitsLoop(loop) {
  let found = false;
  (function visit(n, depthLoops, inSwitch) {
    if (!n || found || typeof n.type !== 'string') return;
    if (isFunction(n)) return;
    if (n.type === 'ReturnStatement' || n.type === 'ThrowStatement') { found = true; return; }
    if (n.type === 'BreakStatement') {
      if (n.label) {
        if (loop.parent.type === 'LabeledStatement' && loop.parent.label.name === n.label.name) found = true;
      } else if (depthLoops === 0 && !inSwitch) found = true;
      return;
    }
    if (n.type === 'CallExpression' && n.callee.type === 'MemberExpression' && n.callee.object.type === 'Identifier' &&
        n.callee.object.name === 'process' && propName(n.callee) === 'exit') { found = true; return; }
    const nested = n !== loop.body && LOOPS.has(n.type);
    for (const k of Object.keys(n)) {
      if (k === 'parent' || k === 'loc' || k === 'range') continue;
      const v = n[k];
      const next = (c) => visit(c, depthLoops + (nested ? 1 : 0), inSwitch || n.type === 'SwitchStatement');
      if (Array.isArray(v)) v.forEach(next); else if (v && typeof v.type === 'string') next(v);
    }
  })(loop.body, 0, false);
  return found;
}

// counted reports whether a loop's body counts its attempts: a variable it
// increments is compared with something.
function counted(loop) {
  const incremented = new Set();
  const compared = new Set();
  walk(loop.body, (n) => {
    if (n.type === 'UpdateExpression' && n.argument.type === 'Identifier') incremented.add(n.argument.name);
    if (n.type === 'AssignmentExpression' && ['+=', '-='].includes(n.operator) && n.left.type === 'Identifier') incremented.add(n.left.name);
    if (n.type === 'BinaryExpression' && ['<', '>', '<=', '>=', '===', '=='].includes(n.operator)) {
      for (const side of [n.left, n.right]) {
        if (side.type === 'Identifier') compared.add(side.name);
        if (side.type === 'UpdateExpression' && side.argument.type === 'Identifier') { compared.add(side.argument.name); incremented.add(side.argument.name); }
      }
    }
    if (n.type === 'MemberExpression' && propName(n) === 'now') compared.add('Date.now'); // a deadline
  });
  return [...incremented].some((v) => compared.has(v)) || compared.has('Date.now');
}

function alwaysTrue(test) {
  if (!test) return true;
  return test.type === 'Literal' && !!test.value;
}

const unboundedLoop = rule('A loop that cannot end, or a polling loop with no limit, within the time limit.', onExit((context, facts) => {
  const limit = facts.settings.timeoutMs || 20000;
  walk(facts.ast, (n) => {
    if (!(n.type === 'WhileStatement' || n.type === 'DoWhileStatement' || n.type === 'ForStatement') || !alwaysTrue(n.test)) return;
    let sleeps = false;
    walk(n.body, (m) => { if ((m.type === 'CallExpression' || m.type === 'NewExpression') && sleepOf(facts, m)) sleeps = true; });
    if (!exitsLoop(n)) {
      context.report({ node: n, message: `This loop has no break, return or throw, so it never ends: the action is stopped after ${limit / 1000} s ` +
        'and fails. Give it an exit condition and a maximum number of attempts.' });
    } else if (sleeps && !counted(n)) {
      context.report({ node: n, message: `This polling loop sleeps and has no attempt limit or deadline: it can run past the ${limit / 1000} s ` +
        'limit. Count the attempts (for (let i = 0; i < 3; i++)) so that the waits add up to well under the limit.' });
    }
  });
}));

const sleepTooLong = rule('A wait longer than the time limit.', onExit((context, facts) => {
  const limit = facts.settings.timeoutMs || 20000;
  walk(facts.ast, (n) => {
    if (n.type !== 'CallExpression' && n.type !== 'NewExpression') return;
    const s = sleepOf(facts, n);
    let ms = s ? s.ms : null;
    if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === 'setTimeout' && n.arguments[1]) ms = literalNumber(facts, n.arguments[1]);
    if (ms === null) return;
    // A constant-count for loop multiplies the wait.
    let total = ms;
    for (let p = n.parent; p && !isFunction(p); p = p.parent) {
      if (p.type === 'ForStatement' && p.test && p.test.type === 'BinaryExpression' && ['<', '<='].includes(p.test.operator)) {
        const count = literalNumber(facts, p.test.right);
        if (count !== null) total *= count + (p.test.operator === '<=' ? 1 : 0);
      }
    }
    if (total >= limit) {
      context.report({ node: n, message: `This waits ${total / 1000} s${total !== ms ? ' in all' : ''}, at least the ${limit / 1000} s limit of a custom code action, ` +
        'so the action is stopped and fails. Use a workflow delay action for long waits.' });
    }
  });
}));

const rules = {
  'hardcoded-credential': hardcodedCredential,
  'secret-in-log': secretInLog,
  'unchecked-input': uncheckedInput,
  'input-undeclared': inputUndeclared,
  'unhandled-call': unhandledCall,
  'rate-limit-swallowed': rateLimitSwallowed,
  'ssrf-url-from-input': ssrf,
  'output-undeclared': outputUndeclared,
  'output-unreturned': outputUnreturned,
  'callback-never-called': callbackNeverCalled,
  'callback-twice': callbackTwice,
  'callback-before-await': callbackBeforeAwait,
  'unawaited-call': unawaitedCall,
  'unavailable-module': unavailableModule,
  'unbounded-loop': unboundedLoop,
  'sleep-too-long': sleepTooLong,
};

// severities: errors fail `spoke lint` and block turning a flow on without
// acknowledgeLint; warnings are advice. lint/rules.go keeps the same table.
const severities = {
  'hardcoded-credential': 'error',
  'secret-in-log': 'error',
  'unchecked-input': 'warn',
  'input-undeclared': 'error',
  'unhandled-call': 'warn',
  'rate-limit-swallowed': 'warn',
  'ssrf-url-from-input': 'error',
  'output-undeclared': 'warn',
  'output-unreturned': 'error',
  'callback-never-called': 'error',
  'callback-twice': 'error',
  'callback-before-await': 'error',
  'unawaited-call': 'warn',
  'unavailable-module': 'error',
  'unbounded-loop': 'error',
  'sleep-too-long': 'error',
};

const plugin = { meta: { name: 'eslint-plugin-spoke', version: '1.0.0' }, rules, configs: {} };
plugin.configs.recommended = {
  plugins: { spoke: plugin },
  rules: Object.fromEntries(Object.entries(severities).map(([k, v]) => ['spoke/' + k, v])),
};

module.exports = plugin;
