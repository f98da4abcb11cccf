'use strict';
// analysis.js: facts about one custom code action that several of Spoke's
// ESLint rules share (the main function, input field reads, external calls,
// secrets), computed once per file from ESLint's AST and scope manager.

const HTTP_METHODS = new Set(['get', 'post', 'put', 'patch', 'delete', 'head', 'options', 'request']);
const LOG_METHODS = new Set(['log', 'info', 'warn', 'error', 'debug', 'trace', 'dir', 'table']);
const CHECK_CALLEES = /^(Boolean|String|Number|isNaN|is[A-Z]\w*|_\.is\w+|validate\w*|check\w*|assert\w*)$/;

const cache = new WeakMap();

// analyze returns the shared facts for the file context belongs to.
function analyze(context) {
  const sc = context.sourceCode;
  let facts = cache.get(sc.ast);
  if (!facts) {
    facts = new Facts(sc, context.settings && context.settings.spoke || {});
    cache.set(sc.ast, facts);
  }
  return facts;
}

// walk calls fn(node, parent) for every node below root, in source order,
// skipping nothing.
function walk(root, fn) {
  const seen = new Set();
  (function visit(node, parent) {
    if (!node || typeof node.type !== 'string' || seen.has(node)) return;
    seen.add(node);
    fn(node, parent);
    for (const key of Object.keys(node)) {
      if (key === 'parent' || key === 'loc' || key === 'range') continue;
      const v = node[key];
      if (Array.isArray(v)) v.forEach((c) => visit(c, node));
      else if (v && typeof v.type === 'string') visit(v, node);
    }
  })(root, null);
}

function isFunction(n) {
  return n && (n.type === 'FunctionDeclaration' || n.type === 'FunctionExpression' || n.type === 'ArrowFunctionExpression');
}

// propName returns the static name of a member expression's property or an
// object property's key, or null.
function propName(node) {
  const key = node.type === 'MemberExpression' ? node.property : node.key;
  const computed = node.computed;
  if (!key) return null;
  if (!computed && key.type === 'Identifier') return key.name;
  if (key.type === 'Literal' && typeof key.value === 'string') return key.value;
  if (key.type === 'TemplateLiteral' && key.expressions.length === 0) return key.quasis[0].value.cooked;
  return null;
}

// unwrap skips wrappers that do not change a value: await, parentheses of
// chains, TS-free casts.
function unwrap(n) {
  while (n && (n.type === 'AwaitExpression' || n.type === 'ChainExpression')) n = n.type === 'AwaitExpression' ? n.argument : n.expression;
  return n;
}

function within(node, ancestor) {
  return node.range[0] >= ancestor.range[0] && node.range[1] <= ancestor.range[1];
}

function lineOf(node) { return node.loc.start.line; }

class Facts {
  constructor(sc, settings) {
    this.sc = sc;
    this.settings = settings;
    this.ast = sc.ast;
    this.main = this.findMain();
    this.inputReads = [];
    this.externalCalls = [];
    this.collect();
  }

  // variableOf resolves an identifier to its eslint-scope Variable.
  variableOf(ident) {
    for (let s = this.sc.getScope(ident); s; s = s.upper) {
      const ref = s.references.find((r) => r.identifier === ident);
      if (ref) return ref.resolved;
      const v = s.set.get(ident.name);
      if (v) return v;
    }
    return null;
  }

  // initOf returns the expression a variable is bound to when declared
  // (for `const {a} = x` it is x), and the declarator's pattern.
  initOf(variable) {
    if (!variable || variable.defs.length === 0) return null;
    const d = variable.defs[0];
    if (d.type === 'Variable' && d.node.init) return d.node.init;
    if (d.type === 'FunctionName') return d.node;
    if (d.type === 'ImportBinding') return d.parent;
    return null;
  }

  // valueOf follows an identifier to what it was initialised with.
  valueOf(node, depth = 0) {
    node = unwrap(node);
    if (depth > 6 || !node) return node;
    if (node.type === 'Identifier') {
      const v = this.variableOf(node);
      const init = this.initOf(v);
      if (init && init !== node) {
        // Only a variable bound to the whole value (not destructured) is the
        // value itself.
        const d = v.defs[0];
        if (d.type === 'Variable' && d.node.id.type !== 'Identifier') return node;
        return this.valueOf(init, depth + 1);
      }
    }
    return node;
  }

  // moduleOf returns the module a node's value comes from ('axios' for
  // require('axios') or an import of it), with the member path taken from
  // it: {module, path: ['Client']}.
  moduleOf(node, depth = 0) {
    node = unwrap(node);
    if (!node || depth > 8) return null;
    if (node.type === 'CallExpression' && node.callee.type === 'Identifier' && node.callee.name === 'require' &&
        node.arguments[0] && node.arguments[0].type === 'Literal') {
      return { module: String(node.arguments[0].value), path: [] };
    }
    if (node.type === 'ImportDeclaration') return { module: String(node.source.value), path: [] };
    if (node.type === 'MemberExpression') {
      const m = this.moduleOf(node.object, depth + 1);
      const p = propName(node);
      if (m && p) return { module: m.module, path: [...m.path, p] };
      return null;
    }
    if (node.type === 'Identifier') {
      const v = this.variableOf(node);
      if (!v || v.defs.length === 0) return null;
      const d = v.defs[0];
      if (d.type === 'ImportBinding') {
        const spec = d.node;
        const m = { module: String(d.parent.source.value), path: [] };
        if (spec.type === 'ImportSpecifier') m.path.push(spec.imported.name || spec.imported.value);
        return m;
      }
      if (d.type === 'Variable' && d.node.init) {
        const m = this.moduleOf(d.node.init, depth + 1);
        if (!m) return null;
        if (d.node.id.type === 'ObjectPattern') {
          const prop = d.node.id.properties.find((p) => p.type === 'Property' && (p.value === d.name || (p.value.type === 'AssignmentPattern' && p.value.left === d.name)));
          if (!prop) return null;
          const k = propName(prop);
          return k ? { module: m.module, path: [...m.path, k] } : null;
        }
        return m;
      }
    }
    return null;
  }

  // clientKind classifies the value a call's receiver chain starts from:
  // 'axios', 'hubspot', 'fetch', 'request' or null.
  clientKind(node, depth = 0) {
    node = unwrap(node);
    if (!node || depth > 8) return null;
    const m = this.moduleOf(node);
    if (m) {
      if (m.module === 'axios' && (m.path.length === 0 || m.path[0] === 'default')) return 'axios';
      if (m.module === 'request' || m.module === 'request-promise' || m.module === 'request-promise-native') return 'request';
      if (m.module === 'node-fetch' || m.module === 'undici') return 'fetch';
    }
    if (node.type === 'NewExpression') {
      const c = this.moduleOf(node.callee);
      if (c && c.module === '@hubspot/api-client' && c.path[c.path.length - 1] === 'Client') return 'hubspot';
      return null;
    }
    if (node.type === 'CallExpression' && node.callee.type === 'MemberExpression' && propName(node.callee) === 'create' &&
        this.clientKind(node.callee.object, depth + 1) === 'axios') {
      return 'axios';
    }
    if (node.type === 'Identifier') {
      if (node.name === 'fetch' && !this.variableOf(node)?.defs.length) return 'fetch';
      const v = this.variableOf(node);
      const init = this.initOf(v);
      if (init && init !== node && v.defs[0].type === 'Variable' && v.defs[0].node.id.type === 'Identifier') return this.clientKind(init, depth + 1);
      return null;
    }
    if (node.type === 'MemberExpression') {
      // A member of a HubSpot client (client.crm.contacts) is still the
      // client's API surface.
      const k = this.clientKind(node.object, depth + 1);
      return k === 'hubspot' ? 'hubspot' : null;
    }
    return null;
  }

  // externalKind reports whether call is a network call and by which
  // library: 'fetch', 'axios', 'hubspot', 'request' or null.
  externalKind(call) {
    const callee = unwrap(call.callee);
    if (!callee) return null;
    if (callee.type === 'Identifier' || callee.type === 'MemberExpression' && this.moduleOf(callee)) {
      const k = this.clientKind(callee);
      if (k === 'fetch' || k === 'axios' || k === 'request') return k;
    }
    if (callee.type === 'MemberExpression') {
      const name = propName(callee);
      const k = this.clientKind(callee.object);
      if ((k === 'axios' || k === 'request') && HTTP_METHODS.has(name)) return k;
      if (k === 'hubspot' && name && !/^(set|get)(AccessToken|ApiKey|DeveloperApiKey)$/.test(name) &&
          (callee.object.type === 'MemberExpression' || name === 'apiRequest')) return 'hubspot';
    }
    return null;
  }

  findMain() {
    let main = null;
    walk(this.ast, (n) => {
      if (main || n.type !== 'AssignmentExpression') return;
      const l = n.left;
      if (l.type !== 'MemberExpression' || propName(l) !== 'main') return;
      const o = l.object;
      const isExports = (o.type === 'Identifier' && o.name === 'exports') ||
        (o.type === 'MemberExpression' && o.object.type === 'Identifier' && o.object.name === 'module' && propName(o) === 'exports');
      if (!isExports) return;
      const fn = this.valueOf(n.right);
      if (isFunction(fn)) main = fn;
    });
    if (!main) {
      walk(this.ast, (n) => {
        if (main) return;
        if (n.type === 'ExportNamedDeclaration' && n.declaration && n.declaration.type === 'FunctionDeclaration' && n.declaration.id.name === 'main') main = n.declaration;
        if (n.type === 'AssignmentExpression' && n.left.type === 'MemberExpression' && n.left.object.type === 'Identifier' &&
            n.left.object.name === 'module' && propName(n.left) === 'exports' && n.right.type === 'ObjectExpression') {
          const p = n.right.properties.find((p) => p.type === 'Property' && propName(p) === 'main');
          const fn = p && this.valueOf(p.value);
          if (isFunction(fn)) main = fn;
        }
      });
    }
    return main;
  }

  // isInputsObject reports whether node evaluates to event.inputFields.
  isInputsObject(node, depth = 0) {
    node = unwrap(node);
    if (!node || depth > 6) return false;
    if (node.type === 'MemberExpression' && propName(node) === 'inputFields') return true;
    if (node.type === 'Identifier') {
      const v = this.variableOf(node);
      if (!v || v.defs.length === 0) return false;
      const d = v.defs[0];
      if (d.type !== 'Variable' || !d.node.init) return false;
      if (d.node.id.type === 'Identifier') return this.isInputsObject(d.node.init, depth + 1);
      // const { inputFields } = event
      return d.name.name === 'inputFields';
    }
    return false;
  }

  collect() {
    walk(this.ast, (n) => {
      if (n.type === 'MemberExpression' && this.isInputsObject(n.object)) {
        const name = propName(n);
        if (name !== null && !(n.parent && n.parent.type === 'AssignmentExpression' && n.parent.left === n)) {
          this.inputReads.push({ name, node: n, variable: this.boundVariable(n) });
        }
      }
      if (n.type === 'VariableDeclarator' && n.id.type === 'ObjectPattern' && n.init && this.isInputsObject(n.init)) {
        this.patternReads(n.id);
      }
      if (n.type === 'VariableDeclarator' && n.id.type === 'ObjectPattern' && n.init) {
        // const { inputFields: { email } } = event
        for (const p of n.id.properties) {
          if (p.type === 'Property' && propName(p) === 'inputFields' && p.value.type === 'ObjectPattern') this.patternReads(p.value);
        }
      }
      if (n.type === 'CallExpression') {
        const kind = this.externalKind(n);
        if (kind) this.externalCalls.push({ kind, node: n });
      }
    });
  }

  patternReads(pattern) {
    for (const p of pattern.properties) {
      if (p.type !== 'Property') continue;
      const name = propName(p);
      if (name === null) continue;
      let target = p.value;
      let defaulted = false;
      if (target.type === 'AssignmentPattern') { defaulted = true; target = target.left; }
      if (target.type !== 'Identifier') continue;
      const v = this.sc.getDeclaredVariables(pattern.parent.type === 'VariableDeclarator' ? pattern.parent : pattern.parent.parent)
        .find((x) => x.name === target.name) || this.variableOf(target);
      this.inputReads.push({ name, node: p, variable: v, defaulted });
    }
  }

  // boundVariable returns the variable a read is stored in
  // (const email = event.inputFields.email), else null.
  boundVariable(read) {
    const p = read.parent;
    if (p && p.type === 'VariableDeclarator' && p.init === read && p.id.type === 'Identifier') {
      return this.sc.getDeclaredVariables(p)[0] || null;
    }
    return null;
  }

  // isTestPosition reports whether node's value is only tested (for
  // null, empty or equality) where it stands.
  isTestPosition(node) {
    let n = node;
    let p = n.parent;
    while (p && (p.type === 'ChainExpression' || (p.type === 'UnaryExpression' && p.operator === '!'))) { n = p; p = p.parent; }
    if (!p) return false;
    switch (p.type) {
      case 'IfStatement': case 'ConditionalExpression': case 'WhileStatement': case 'DoWhileStatement': case 'ForStatement':
        return p.test === n;
      case 'LogicalExpression':
        return p.left === n || this.isTestPosition(p);
      case 'UnaryExpression':
        return p.operator === 'typeof' || p.operator === '!';
      case 'BinaryExpression':
        return ['==', '===', '!=', '!=='].includes(p.operator);
      case 'SwitchStatement':
        return p.discriminant === n;
      case 'CallExpression': {
        if (p.callee === n) return false;
        const c = this.sc.getText(p.callee);
        return CHECK_CALLEES.test(c);
      }
      case 'AssignmentExpression':
        return ['||=', '??=', '&&='].includes(p.operator);
    }
    return false;
  }

  // dereferences reports whether node is used in a way that throws when it
  // is null or undefined (a property access or a for-of).
  dereferences(node) {
    const p = node.parent;
    if (!p) return false;
    if (p.type === 'MemberExpression' && p.object === node && !p.optional) return true;
    if (p.type === 'ForOfStatement' && p.right === node) return true;
    if (p.type === 'SpreadElement' && p.parent.type === 'ArrayExpression') return true;
    return false;
  }

  // readsOf returns, for an input field name, every node that stands for
  // its value: the reads and the references to variables bound to them.
  usesOf(name) {
    const uses = [];
    for (const r of this.inputReads) {
      if (r.name !== name) continue;
      if (r.node.type === 'MemberExpression') uses.push({ node: r.node, read: r, direct: true });
      if (r.variable) {
        for (const ref of r.variable.references) {
          if (ref.isRead()) uses.push({ node: ref.identifier, read: r, direct: false });
          else if (ref.isWrite() && ref.writeExpr && ref.identifier !== (r.node.value || r.node).left && ref.writeExpr !== r.node) {
            // email = email || '' gives the variable a default.
            uses.push({ node: ref.identifier, read: r, write: ref.writeExpr });
          }
        }
      }
    }
    return uses.sort((a, b) => a.node.range[0] - b.node.range[0]);
  }

  // containsInput reports the input field whose value flows into expr
  // (directly, or through variables initialised from it), or null.
  taintOf(expr, seen = new Set()) {
    let found = null;
    walk(expr, (n) => {
      if (found) return;
      if (n.type === 'MemberExpression' && this.isInputsObject(n.object) && propName(n)) { found = propName(n); return; }
      if (n.type === 'Identifier' && !(n.parent && n.parent.type === 'MemberExpression' && n.parent.property === n && !n.parent.computed) &&
          !(n.parent && n.parent.type === 'Property' && n.parent.key === n && !n.parent.computed)) {
        const v = this.variableOf(n);
        if (!v || seen.has(v)) return;
        seen.add(v);
        const read = this.inputReads.find((r) => r.variable === v);
        if (read) { found = read.name; return; }
        for (const ref of v.references) {
          if (ref.writeExpr && ref.writeExpr !== expr) {
            const t = this.taintOf(ref.writeExpr, seen);
            if (t) { found = t; return; }
          }
        }
      }
    });
    return found;
  }

  // isSecret reports whether expr's value carries a secret from
  // process.env (directly or through variables), ignoring uses that only
  // test it (!x, x ? a : b, typeof, x.length, comparisons).
  secretIn(expr, seen = new Set()) {
    const self = this;
    let found = null;
    (function visit(n) {
      if (!n || found || typeof n.type !== 'string') return;
      switch (n.type) {
        case 'UnaryExpression': if (n.operator === '!' || n.operator === 'typeof' || n.operator === 'void') return; break;
        case 'BinaryExpression': if (['==', '===', '!=', '!==', '<', '>', '<=', '>=', 'in', 'instanceof'].includes(n.operator)) return; break;
        case 'ConditionalExpression': visit(n.consequent); visit(n.alternate); return;
        case 'LogicalExpression': visit(n.right); if (n.operator !== '&&') visit(n.left); return;
        case 'FunctionExpression': case 'ArrowFunctionExpression': return;
        case 'CallExpression': if (n.callee.type === 'Identifier' && n.callee.name === 'Boolean') return; break;
        case 'MemberExpression': {
          if (isProcessEnv(n)) { found = 'process.env'; return; }
          if (isProcessEnv(n.object)) { found = 'process.env.' + (propName(n) || '[...]'); return; }
          if (propName(n) === 'length') return;
          visit(n.object);
          if (n.computed) visit(n.property);
          return;
        }
        case 'Property': visit(n.value); if (n.computed) visit(n.key); return;
        case 'Identifier': {
          if (n.parent && n.parent.type === 'Property' && n.parent.key === n && !n.parent.computed) return;
          const v = self.variableOf(n);
          if (!v || seen.has(v)) return;
          seen.add(v);
          for (const ref of v.references) {
            if (ref.writeExpr) {
              const s = self.secretIn(ref.writeExpr, seen);
              if (s) { found = s + ' (through ' + n.name + ')'; return; }
            }
          }
          return;
        }
      }
      for (const key of Object.keys(n)) {
        if (key === 'parent' || key === 'loc' || key === 'range') continue;
        const v = n[key];
        if (Array.isArray(v)) v.forEach(visit); else if (v && typeof v.type === 'string') visit(v);
      }
    })(expr);
    return found;
  }

  // enclosingFunction returns the innermost function around node.
  enclosingFunction(node) {
    for (let p = node.parent; p; p = p.parent) if (isFunction(p)) return p;
    return null;
  }

  // callSites returns the calls of a named function (declared or bound to a
  // const), or null when it is not a named function.
  callSites(fn) {
    let id = null;
    if (fn.type === 'FunctionDeclaration') id = fn.id;
    else if (fn.parent && fn.parent.type === 'VariableDeclarator' && fn.parent.init === fn) id = fn.parent.id;
    if (!id || id.type !== 'Identifier') return null;
    const v = this.variableOf(id);
    if (!v) return null;
    const sites = [];
    for (const ref of v.references) {
      if (!ref.isRead()) continue;
      sites.push(ref.identifier.parent && ref.identifier.parent.type === 'CallExpression' && ref.identifier.parent.callee === ref.identifier
        ? ref.identifier.parent : ref.identifier);
    }
    return sites;
  }

  // isHandled reports whether an error thrown or rejected by node reaches a
  // try/catch or a .catch(): an enclosing try block, a promise chain with
  // .catch or .then(ok, fail), or a helper function all of whose callers
  // are handled.
  isHandled(node, depth = 0) {
    if (depth > 4) return false;
    // Promise chain: x.then(...).catch(...)
    let n = node;
    while (n.parent && n.parent.type === 'MemberExpression' && n.parent.object === n && n.parent.parent.type === 'CallExpression') {
      const name = propName(n.parent);
      const call = n.parent.parent;
      if (name === 'catch' || (name === 'then' && call.arguments.length >= 2)) return true;
      if (name !== 'then' && name !== 'finally') break;
      n = call;
    }
    for (let p = node.parent, child = node; p; child = p, p = p.parent) {
      if (p.type === 'TryStatement' && p.block === child && p.handler) return true;
      if (isFunction(p)) {
        if (p === this.main) return false;
        const sites = this.callSites(p);
        if (sites && sites.length > 0) return sites.every((s) => this.isHandled(s, depth + 1));
        // Passed inline (ids.map(async id => ...)): the caller of the
        // function that receives it decides; keep climbing.
      }
    }
    return false;
  }
}

function isProcessEnv(n) {
  return n && n.type === 'MemberExpression' && n.object.type === 'Identifier' && n.object.name === 'process' && propName(n) === 'env';
}

module.exports = { analyze, walk, isFunction, propName, unwrap, within, lineOf, LOG_METHODS, isProcessEnv };
