'use strict';
// callback.js: the paths through exports.main(event, callback), followed
// statement by statement, to find where callback() is called twice, not
// at all, or before an await that follows it.

const { isFunction, walk } = require('./analysis');

// A state is what one path knows: how many times callback has been called
// (0, 1 or 2 meaning "two or more") and the last call.
function key(s) { return s.n; }

function union(...lists) {
  const m = new Map();
  for (const l of lists) for (const s of l) if (!m.has(key(s))) m.set(key(s), s);
  return [...m.values()];
}

// analyzeCallback walks main's body and returns findings:
// {kind: 'twice'|'never'|'missing-path'|'before-await'|'loop', node, call}.
function analyzeCallback(main, facts) {
  const param = main.params[1];
  if (!param || param.type !== 'Identifier') return { findings: [], escapes: false, calls: 0 };
  const variable = facts.sc.getDeclaredVariables(main).find((v) => v.name === param.name);
  if (!variable) return { findings: [], escapes: false, calls: 0 };
  const findings = [];
  const reported = new Set();
  let escapes = false;
  let calls = 0;
  const isCallbackRef = (n) => n.type === 'Identifier' && variable.references.some((r) => r.identifier === n);
  for (const ref of variable.references) {
    const id = ref.identifier;
    const direct = id.parent.type === 'CallExpression' && id.parent.callee === id;
    if (!direct || facts.enclosingFunction(id) !== main) escapes = true; // passed on, or called later
    if (direct) calls++;
  }
  const report = (kind, node, call) => {
    const k = kind + ':' + node.range[0];
    if (reported.has(k)) return;
    reported.add(k);
    findings.push({ kind, node, call });
  };

  // scan follows the evaluation of an expression (post-order, so a call's
  // arguments run before it) and returns the states after it.
  function scan(expr, states) {
    if (!expr || states.length === 0) return states;
    let cur = states;
    (function visit(n) {
      if (!n || typeof n.type !== 'string') return;
      if (isFunction(n)) return; // runs later, if at all
      if (n.type === 'ConditionalExpression' || n.type === 'LogicalExpression') {
        const test = n.type === 'ConditionalExpression' ? n.test : n.left;
        visit(test);
        const before = cur;
        if (n.type === 'ConditionalExpression') {
          visit(n.consequent);
          const a = cur;
          cur = before;
          visit(n.alternate);
          cur = union(a, cur);
        } else {
          visit(n.right);
          cur = union(before, cur);
        }
        return;
      }
      for (const k of Object.keys(n)) {
        if (k === 'parent' || k === 'loc' || k === 'range') continue;
        const v = n[k];
        if (Array.isArray(v)) v.forEach(visit); else if (v && typeof v.type === 'string') visit(v);
      }
      if (n.type === 'AwaitExpression') {
        const after = cur.find((s) => s.n >= 1);
        if (after) report('before-await', n, after.call);
      }
      if (n.type === 'CallExpression' && isCallbackRef(n.callee)) {
        const again = cur.find((s) => s.n >= 1);
        if (again) report('twice', n, again.call);
        cur = cur.map((s) => ({ n: Math.min(2, s.n + 1), call: n }));
        cur = union(cur);
      }
    })(expr);
    return cur;
  }

  // run follows a statement from states and returns {out, returns, jumps}:
  // the states falling through, those leaving by return (with whether a
  // value is returned), and those leaving by break or continue.
  function run(node, states) {
    const res = { out: states, returns: [], jumps: [] };
    if (!node || states.length === 0) return res;
    switch (node.type) {
      case 'BlockStatement': case 'Program': case 'StaticBlock': {
        let cur = states;
        for (const s of node.body) {
          const r = run(s, cur);
          res.returns.push(...r.returns);
          res.jumps.push(...r.jumps);
          cur = r.out;
          if (cur.length === 0) break;
        }
        res.out = cur;
        return res;
      }
      case 'ExpressionStatement': res.out = scan(node.expression, states); return res;
      case 'VariableDeclaration': {
        let cur = states;
        for (const d of node.declarations) cur = scan(d.init, cur);
        res.out = cur;
        return res;
      }
      case 'ReturnStatement': {
        const after = scan(node.argument, states);
        const arg = node.argument;
        const value = !!arg && !(arg.type === 'CallExpression' && isCallbackRef(arg.callee)) &&
          !(arg.type === 'Identifier' && arg.name === 'undefined');
        for (const s of after) res.returns.push({ state: s, node, value });
        res.out = [];
        return res;
      }
      case 'ThrowStatement': scan(node.argument, states); res.out = []; return res;
      case 'BreakStatement': case 'ContinueStatement': res.jumps.push(...states); res.out = []; return res;
      case 'IfStatement': {
        const t = scan(node.test, states);
        const a = run(node.consequent, t);
        const b = node.alternate ? run(node.alternate, t) : { out: t, returns: [], jumps: [] };
        res.out = union(a.out, b.out);
        res.returns = [...a.returns, ...b.returns];
        res.jumps = [...a.jumps, ...b.jumps];
        return res;
      }
      case 'TryStatement': {
        // The catch block may start from any point of the try block; the
        // last statement's completion is assumed not to throw (the usual
        // try { ...; callback(ok) } catch { callback(err) }).
        const entries = [states];
        let cur = states;
        const body = node.block.body;
        for (let i = 0; i < body.length; i++) {
          const r = run(body[i], cur);
          res.returns.push(...r.returns);
          res.jumps.push(...r.jumps);
          cur = r.out;
          if (i < body.length - 1) entries.push(cur);
          if (cur.length === 0) break;
        }
        let out = cur;
        if (node.handler) {
          const h = run(node.handler.body, union(...entries));
          res.returns.push(...h.returns);
          res.jumps.push(...h.jumps);
          out = union(out, h.out);
        }
        if (node.finalizer) {
          const f = run(node.finalizer, out.length ? out : states);
          res.returns.push(...f.returns);
          out = out.length ? f.out : [];
        }
        res.out = out;
        return res;
      }
      case 'WhileStatement': case 'DoWhileStatement': case 'ForStatement': case 'ForInStatement': case 'ForOfStatement': {
        let cur = states;
        if (node.type === 'ForStatement') cur = scan(node.init, cur);
        if (node.type === 'ForInStatement' || node.type === 'ForOfStatement') cur = scan(node.right, cur);
        if (node.test) cur = scan(node.test, cur);
        const b = run(node.body, cur);
        res.returns = b.returns;
        // A call that falls through the body (or continues) runs again on
        // the next iteration.
        const again = union(b.out, b.jumps).find((s) => s.n > Math.max(...cur.map((x) => x.n)) && s.call);
        if (again) report('loop', again.call, again.call);
        res.out = union(cur, b.out, b.jumps);
        return res;
      }
      case 'SwitchStatement': {
        const t = scan(node.discriminant, states);
        let fall = [];
        let out = [];
        let hasDefault = false;
        for (const c of node.cases) {
          if (!c.test) hasDefault = true;
          const r = run({ type: 'BlockStatement', body: c.consequent }, union(t, fall));
          res.returns.push(...r.returns);
          out = union(out, r.jumps);
          fall = r.out;
        }
        res.out = union(out, fall, hasDefault ? [] : t);
        return res;
      }
      case 'LabeledStatement': {
        const r = run(node.body, states);
        r.out = union(r.out, r.jumps);
        r.jumps = [];
        return r;
      }
      default:
        return res; // declarations and empty statements do not run code
    }
  }

  const start = [{ n: 0, call: null }];
  let result;
  if (main.body.type === 'BlockStatement') {
    result = run(main.body, start);
  } else {
    const out = scan(main.body, start);
    result = { out: [], returns: out.map((s) => ({ state: s, node: main.body, value: true })), jumps: [] };
  }
  if (!escapes) {
    const ends = [...result.out.map((s) => ({ state: s, node: null, value: false })), ...result.returns];
    const missing = ends.filter((e) => e.state.n === 0 && !e.value);
    if (calls === 0 && !result.returns.some((r) => r.value)) {
      report('never', param, null);
    } else if (calls > 0) {
      for (const m of missing) report('missing-path', m.node || { type: 'End', range: [main.body.range[1], main.body.range[1]], loc: { start: main.body.loc.end, end: main.body.loc.end } }, null);
    }
  }
  return { findings, escapes, calls };
}

module.exports = { analyzeCallback, walk };
