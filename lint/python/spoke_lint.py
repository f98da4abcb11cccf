"""Spoke's checks of HubSpot Python custom code actions, on Python's own ast.

Run as a warm server: one JSON request per line on stdin, one JSON answer
per line on stdout (the same protocol as lint/js/server.js):

  in:  {"id": 1, "source": "...", "inputs": ["a"] | null, "outputs": ["b"] | null}
  out: {"id": 1, "findings": [{"rule", "severity", "line", "column", "message"}]}

argv[1] is a JSON object of shared settings: {"modules": [...], "timeoutMs": 20000}.
The rule ids and severities are the same as the JavaScript rules'
(lint/js/eslint-plugin-spoke.js, lint/rules.go).
"""

import ast
import json
import re
import sys

SEVERITY = {
    "syntax-error": "error",
    "hardcoded-credential": "error",
    "secret-in-log": "error",
    "unchecked-input": "warning",
    "input-undeclared": "error",
    "unhandled-call": "warning",
    "rate-limit-swallowed": "warning",
    "ssrf-url-from-input": "error",
    "output-undeclared": "warning",
    "output-unreturned": "error",
    "unavailable-module": "error",
    "unbounded-loop": "error",
    "sleep-too-long": "error",
}

PATTERNS = [
    (re.compile(r"\bpat-(na|eu|ap)\d*-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "HubSpot private app token", False),
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "HubSpot API key (hapikey)", True),
    (re.compile(r"\bsk-(proj-|ant-)?[A-Za-z0-9_-]{20,}"), "OpenAI/Anthropic API key", False),
    (re.compile(r"\b(sk|rk)_live_[A-Za-z0-9]{16,}"), "Stripe secret key", False),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "AWS access key id", False),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), "GitHub token", False),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), "Slack token", False),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "Google API key", False),
    (re.compile(r"\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}"), "SendGrid API key", False),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"), "JSON Web Token", False),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "private key", False),
    (re.compile(r"\bBearer\s+[A-Za-z0-9._~+/=-]{16,}"), "bearer token", False),
    (re.compile(r"\bBasic\s+[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/])"), "basic-auth credentials", False),
    (re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]{3,}@", re.I), "password in a URL", False),
]
SECRET_NAME = re.compile(r"(api[_-]?key|apikey|hapikey|secret|token|passw(or)?d|passwd|pwd|private[_-]?key|credential|auth)$", re.I)
NOT_SECRET_NAME = re.compile(r"(url|uri|endpoint|name|type|field|header|env|var|path|id|count|length|expir\w*|ttl)$", re.I)
PLACEHOLDER = re.compile(r"(your|xxx|example|placeholder|changeme|dummy|<|>|\*\*\*|\{\{|\$\{)", re.I)

HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options", "request"}
LOG_METHODS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
SWALLOWING = {"Exception", "BaseException", "RequestException", "HTTPError", "ApiException", "ConnectionError", "Timeout"}
HOST_FIXED = re.compile(r"^[a-z][a-z0-9+.-]*://[^/?#]+[/?#]", re.I)


def credential_in(value, name):
    """Returns what kind of credential a string holds, or None."""
    if not isinstance(value, str) or len(value) < 6:
        return None
    for rx, what, needs_name in PATTERNS:
        if needs_name and not (name and SECRET_NAME.search(name)):
            continue
        if rx.search(value):
            return what
    if (name and SECRET_NAME.search(name) and not NOT_SECRET_NAME.search(name) and len(value) >= 8
            and not re.search(r"\s", value) and not re.match(r"^[A-Z][A-Z0-9_]*$", value)
            and not PLACEHOLDER.search(value) and not re.match(r"^(https?:|/)", value)):
        return 'secret in "%s"' % name
    return None


def mask(value):
    return "…" if len(value) <= 8 else value[: min(6, len(value) // 4)] + "…"


def const_str(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def const_num(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        a, b = const_num(node.left), const_num(node.right)
        if a is not None and b is not None:
            return a * b
    return None


def dotted(node):
    """Returns a.b.c for a chain of attributes on a name, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def root_name(node):
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def is_function(node):
    return isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))


class Linter:
    def __init__(self, source, inputs, outputs, modules, timeout_ms):
        self.source = source
        self.inputs = inputs
        self.outputs = outputs
        self.modules = set(modules or [])
        self.timeout = (timeout_ms or 20000) / 1000.0
        self.findings = []

    def report(self, rule, node, message):
        self.findings.append({
            "rule": rule, "severity": SEVERITY[rule],
            "line": getattr(node, "lineno", 1), "column": getattr(node, "col_offset", 0) + 1,
            "message": message,
        })

    def run(self):
        try:
            tree = ast.parse(self.source)
        except SyntaxError as e:
            self.findings.append({"rule": "syntax-error", "severity": "error", "line": e.lineno or 1,
                                  "column": e.offset or 1, "message": "%s: the code does not parse; fix the syntax first." % e.msg})
            return self.findings
        self.tree = tree
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                child.parent = node
        tree.parent = None
        self.imports = {}  # local name -> dotted module path
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for a in node.names:
                    self.imports[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    self.imports[a.asname or a.name] = node.module + "." + a.name
        self.main = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == "main"), None)
        self.assigns = {}  # (scope, name) -> [value nodes]
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = [(t, node.value) for t in node.targets]
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                targets = [(node.target, node.value)]
            elif isinstance(node, ast.NamedExpr):
                targets = [(node.target, node.value)]
            for t, v in targets:
                if isinstance(t, ast.Name):
                    self.assigns.setdefault((self.scope(node), t.id), []).append(v)
        self.reads = []
        self.collect_reads()
        self.calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and self.external_kind(n)]
        self.check_credentials()
        self.check_secret_logs()
        self.check_inputs()
        self.check_calls()
        self.check_ssrf()
        self.check_outputs()
        self.check_modules()
        self.check_loops()
        self.findings.sort(key=lambda f: (f["line"], f["column"], f["rule"]))
        return self.findings

    # ---- scopes and values -------------------------------------------

    def scope(self, node):
        p = getattr(node, "parent", None)
        while p is not None and not is_function(p):
            p = getattr(p, "parent", None)
        return p

    def values_of(self, name_node):
        """Returns the expressions assigned to a name, in its scope or the module's."""
        s = self.scope(name_node)
        while True:
            vals = self.assigns.get((s, name_node.id))
            if vals:
                return vals
            if s is None:
                return []
            s = self.scope(s)

    def names_in_scope(self, name, scope):
        """Every load of name inside scope (and functions nested in it)."""
        root = scope if scope is not None else self.tree
        return [n for n in ast.walk(root) if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)]

    def module_of(self, node):
        """Returns the dotted path a name or attribute chain refers to through imports."""
        d = dotted(node)
        if d is None:
            return None
        head, _, rest = d.partition(".")
        if head in self.imports:
            return self.imports[head] + ("." + rest if rest else "")
        return None

    # ---- input fields ------------------------------------------------------

    def is_inputs(self, node, depth=0):
        if depth > 6:
            return False
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            return const_str(node.args[0]) == "inputFields"
        if isinstance(node, ast.Subscript):
            return const_str(node.slice) == "inputFields"
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or):
            return self.is_inputs(node.values[0], depth + 1)
        if isinstance(node, ast.Name):
            return any(self.is_inputs(v, depth + 1) for v in self.values_of(node))
        return False

    def read_name(self, node):
        """Returns (name, defaulted) when node reads one input field."""
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" and node.args:
            name = const_str(node.args[0])
            if name is not None and self.is_inputs(node.func.value):
                default = node.args[1] if len(node.args) > 1 else next((k.value for k in node.keywords if k.arg == "default"), None)
                return name, default is not None and not (isinstance(default, ast.Constant) and default.value is None)
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load):
            name = const_str(node.slice)
            if name is not None and self.is_inputs(node.value):
                return name, False
        return None

    def collect_reads(self):
        for node in ast.walk(self.tree):
            r = self.read_name(node)
            if r is None:
                continue
            var = None
            p = node.parent
            if isinstance(p, ast.Assign) and p.value is node and len(p.targets) == 1 and isinstance(p.targets[0], ast.Name):
                var = p.targets[0].id
            self.reads.append({"name": r[0], "defaulted": r[1], "node": node, "var": var, "scope": self.scope(node)})

    def uses_of(self, name):
        uses = []
        for r in self.reads:
            if r["name"] != name:
                continue
            uses.append((r["node"], r, True))
            if r["var"]:
                for n in self.names_in_scope(r["var"], r["scope"]):
                    if (n.lineno, n.col_offset) > (r["node"].lineno, r["node"].col_offset):
                        uses.append((n, r, False))
        uses.sort(key=lambda u: (u[0].lineno, u[0].col_offset))
        return uses

    def is_test(self, node):
        n, p = node, node.parent
        while isinstance(p, ast.UnaryOp) and isinstance(p.op, ast.Not):
            n, p = p, p.parent
        if isinstance(p, (ast.If, ast.While, ast.IfExp, ast.Assert)) and p.test is n:
            return True
        if isinstance(p, ast.comprehension) and n in p.ifs:
            return True
        if isinstance(p, (ast.BoolOp, ast.Compare)):
            return True
        if isinstance(p, ast.Call) and n in p.args:
            f = dotted(p.func) or ""
            return f in ("isinstance", "bool", "str", "callable") or re.match(r"^(is_|validate|check)", f.split(".")[-1]) is not None
        return False

    def derefs(self, node):
        p = node.parent
        if isinstance(p, ast.Attribute) and p.value is node:
            return True
        if isinstance(p, ast.Subscript) and p.value is node:
            return True
        if isinstance(p, ast.Call) and node in p.args and dotted(p.func) in ("len", "int", "float", "iter", "sorted", "list"):
            return True
        if isinstance(p, (ast.For, ast.comprehension)) and p.iter is node:
            return True
        return False

    def check_inputs(self):
        seen_undeclared = set()
        for name in sorted({r["name"] for r in self.reads}):
            checked = False
            for node, r, direct in self.uses_of(name):
                if r["defaulted"]:
                    break
                if self.is_test(node):
                    checked = True
                    continue
                bound = direct and r["var"] is not None
                if not checked and not bound and self.derefs(node) and not self.guarded(node):
                    shown = ast.get_source_segment(self.source, node.parent) or ""
                    self.report("unchecked-input", node,
                                'Input field "%s" is used (%s) without a check: HubSpot passes None or "" when the property is empty, '
                                "and this raises an error that fails the action. Check it first (if not %s: ...) or give a default "
                                "(event.get('inputFields').get('%s') or '')." % (name, shown[:60], node.id if isinstance(node, ast.Name) else "value", name))
                    break
        if isinstance(self.inputs, list):
            for r in self.reads:
                if r["name"] in self.inputs or r["name"] in seen_undeclared:
                    continue
                seen_undeclared.add(r["name"])
                self.report("input-undeclared", r["node"],
                            'Input field "%s" is not declared in the action\'s inputFields, so it is always None. Declare it, or use one of: %s.'
                            % (r["name"], ", ".join(self.inputs) if self.inputs else "(none declared)"))

    def guarded(self, node):
        """Reports whether node sits in a branch of a conditional expression that tests it (x.y if x else z)."""
        name = node.id if isinstance(node, ast.Name) else None
        for a in self.ancestors(node, None):
            if is_function(a):
                return False
            if isinstance(a, ast.IfExp) and name and any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(a.test)):
                return True
        return False

    def taint(self, expr, seen=None):
        """Returns the input field whose value flows into expr, or None."""
        seen = seen if seen is not None else set()
        for n in ast.walk(expr):
            r = self.read_name(n)
            if r:
                return r[0]
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                key = (self.scope(n), n.id)
                if key in seen:
                    continue
                seen.add(key)
                for v in self.values_of(n):
                    t = self.taint(v, seen)
                    if t:
                        return t
        return None

    # ---- external calls ----------------------------------------------------

    def client_kind(self, node, depth=0):
        if depth > 8:
            return None
        m = self.module_of(node) if isinstance(node, (ast.Name, ast.Attribute)) else None
        if m and (m == "requests" or m.startswith("requests.")):
            return "requests"
        if isinstance(node, ast.Call):
            f = self.module_of(node.func) or ""
            if f in ("hubspot.HubSpot", "hubspot.Client", "hubspot.client.Client"):
                return "hubspot"
            if f in ("requests.Session", "requests.session", "requests.sessions.Session"):
                return "requests"
            return None
        if isinstance(node, ast.Name):
            for v in self.values_of(node):
                k = self.client_kind(v, depth + 1)
                if k:
                    return k
            return None
        if isinstance(node, ast.Attribute):
            k = self.client_kind(node.value, depth + 1)
            return k if k == "hubspot" else None
        return None

    def external_kind(self, call):
        f = call.func
        m = self.module_of(f) if isinstance(f, (ast.Name, ast.Attribute)) else None
        if m in ("urllib.request.urlopen", "urllib.request.Request.urlopen", "urllib3.request", "http.client.HTTPSConnection.request"):
            return "urllib"
        if m and m.startswith("requests.") and m.rsplit(".", 1)[-1] in HTTP_METHODS:
            return "requests"
        if isinstance(f, ast.Attribute):
            k = self.client_kind(f.value)
            if k == "requests" and f.attr in HTTP_METHODS and self.module_of(f) is None:
                return "requests"
            if k == "hubspot" and (isinstance(f.value, ast.Attribute) or f.attr == "api_request"):
                return "hubspot"
        return None

    def call_sites(self, fn):
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        return [n for n in ast.walk(self.tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == fn.name]

    def enclosing_try(self, node):
        child, p = node, node.parent
        while p is not None:
            if isinstance(p, ast.Try) and child in p.body and p.handlers:
                return p
            if is_function(p):
                return None
            child, p = p, getattr(p, "parent", None)
        return None

    def handled(self, node, depth=0):
        if depth > 4:
            return False
        if self.enclosing_try(node):
            return True
        fn = self.scope(node)
        if fn is None or fn is self.main:
            return False
        sites = self.call_sites(fn)
        if sites:
            return all(self.handled(s, depth + 1) for s in sites)
        return False

    def check_calls(self):
        for c in self.calls:
            kind = self.external_kind(c)
            name = ast.get_source_segment(self.source, c.func) or kind
            if not self.handled(c):
                self.report("unhandled-call", c,
                            "%s() has no error handling. Wrap it in try/except, log what failed with the record id, and re-raise "
                            "rate-limit (429) and 5xx errors so HubSpot retries the action." % name)
            t = self.enclosing_try(c)
            if t:
                for h in t.handlers:
                    if self.swallows(h):
                        self.report("rate-limit-swallowed", h,
                                    "This except swallows every error of %s() (line %d), including 429 rate limits: HubSpot retries "
                                    "the action only when the error is raised again. Add `raise` (at least when the status is 429 or 5xx)."
                                    % (name, c.lineno))
            if kind == "requests" and not self.status_checked(c):
                self.report("rate-limit-swallowed", c,
                            "requests does not raise on HTTP errors: a 429 from %s() passes silently and HubSpot never retries. "
                            "Call response.raise_for_status() (or check response.status_code) after it." % name)

    def swallows(self, handler):
        t = handler.type
        names = []
        if t is None:
            names = ["Exception"]
        else:
            for e in (t.elts if isinstance(t, ast.Tuple) else [t]):
                d = dotted(e) or ""
                names.append(d.rsplit(".", 1)[-1])
        if not any(n in SWALLOWING for n in names):
            return False
        for n in ast.walk(handler):
            if isinstance(n, ast.Raise) and not any(is_function(a) for a in self.ancestors(n, handler)):
                return False
            if isinstance(n, ast.Constant) and n.value in (429, "429"):
                return False
        return True

    def ancestors(self, node, stop):
        p = node.parent
        while p is not None and p is not stop:
            yield p
            p = getattr(p, "parent", None)

    def status_checked(self, call):
        """Reports whether the response of a requests call is checked for HTTP errors."""
        p = call.parent
        if isinstance(p, ast.Attribute) and p.attr in ("raise_for_status", "status_code", "ok"):
            return True
        if isinstance(p, ast.Attribute) and p.attr == "json":
            return False
        var = None
        if isinstance(p, ast.Assign) and len(p.targets) == 1 and isinstance(p.targets[0], ast.Name):
            var = p.targets[0].id
        elif isinstance(p, ast.withitem) and isinstance(p.optional_vars, ast.Name):
            var = p.optional_vars.id
        elif isinstance(p, ast.Return):
            return True  # the caller checks it
        if var is None:
            return False
        for n in self.names_in_scope(var, self.scope(call)):
            q = n.parent
            if isinstance(q, ast.Attribute) and q.attr in ("raise_for_status", "status_code", "ok"):
                return True
            if isinstance(q, ast.Return) or (isinstance(q, ast.Call) and n in q.args and not isinstance(q.func, ast.Attribute)):
                return True  # handed on to code that may check it
        return False

    # ---- SSRF -------------------------------------------------------------------

    def url_arg(self, call):
        kind = self.external_kind(call)
        if kind == "hubspot":
            return None
        for k in call.keywords:
            if k.arg == "url":
                return k.value
        f = call.func
        if isinstance(f, ast.Attribute) and f.attr == "request":
            return call.args[1] if len(call.args) > 1 else None
        return call.args[0] if call.args else None

    def host_taint(self, url, depth=0):
        if depth > 5 or url is None:
            return None
        parts = None
        if isinstance(url, ast.JoinedStr):
            parts = []
            for v in url.values:
                parts.append(const_str(v) if isinstance(v, ast.Constant) else v.value)
        elif isinstance(url, ast.BinOp) and isinstance(url.op, ast.Add):
            parts = []

            def flat(e):
                if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Add):
                    flat(e.left)
                    flat(e.right)
                else:
                    parts.append(const_str(e) if const_str(e) is not None else e)
            flat(url)
        elif isinstance(url, ast.Call) and isinstance(url.func, ast.Attribute) and url.func.attr == "format" and const_str(url.func.value) is not None:
            fmt = const_str(url.func.value)
            pieces = re.split(r"\{[^{}]*\}", fmt)
            parts = []
            for i, piece in enumerate(pieces):
                parts.append(piece)
                if i < len(pieces) - 1:
                    parts.append(url.args[i] if i < len(url.args) else ast.Constant(value="x"))
        elif isinstance(url, ast.BinOp) and isinstance(url.op, ast.Mod) and const_str(url.left) is not None:
            pieces = re.split(r"%[sdr]", const_str(url.left))
            args = url.right.elts if isinstance(url.right, ast.Tuple) else [url.right]
            parts = []
            for i, piece in enumerate(pieces):
                parts.append(piece)
                if i < len(pieces) - 1:
                    parts.append(args[i] if i < len(args) else ast.Constant(value="x"))
        elif isinstance(url, ast.Name):
            for r in self.reads:
                if r["var"] == url.id and r["scope"] is self.scope(url):
                    return r["name"]
            vals = self.values_of(url)
            if len(vals) == 1:
                return self.host_taint(vals[0], depth + 1)
            return self.taint(url)
        else:
            return self.taint(url)
        prefix = ""
        for p in parts:
            if isinstance(p, str):
                prefix += p
                continue
            if HOST_FIXED.match(prefix):
                return None
            t = self.taint(p)
            if t:
                return t
            s = const_str(p)
            if s is None and isinstance(p, ast.Name):
                vals = self.values_of(p)
                s = const_str(vals[0]) if len(vals) == 1 else None
            prefix += s if s is not None else "https://fixed.host/"
        return None

    def validated(self, name):
        """Reports whether a condition checks a value carrying input name against a list or pattern."""
        for a in ast.walk(self.tree):
            if not isinstance(a, (ast.If, ast.IfExp, ast.Assert)):
                continue
            allow = False
            for n in ast.walk(a.test):
                if isinstance(n, ast.Compare) and any(isinstance(o, (ast.In, ast.NotIn)) for o in n.ops):
                    allow = True
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in ("startswith", "endswith", "match", "fullmatch"):
                    allow = True
            if allow and self.taint(a.test) == name:
                return True
        return False

    def check_ssrf(self):
        for c in self.calls:
            url = self.url_arg(c)
            name = self.host_taint(url)
            if not name or self.validated(name):
                continue
            self.report("ssrf-url-from-input", url,
                        'The host of this request comes from input field "%s": a record\'s value decides where the request (and any '
                        "secret in it) goes (SSRF). Hard-code the host, or check it against an allowlist "
                        "(if urlparse(url).hostname not in ALLOWED_HOSTS: raise ...) before the call." % name)

    # ---- credentials and secrets --------------------------------------------

    def name_for(self, node):
        p = node.parent
        while isinstance(p, (ast.BinOp, ast.JoinedStr, ast.FormattedValue)):
            node, p = p, p.parent
        if isinstance(p, (ast.Assign, ast.AnnAssign)):
            t = p.targets[0] if isinstance(p, ast.Assign) else p.target
            if isinstance(t, ast.Name):
                return t.id
            if isinstance(t, ast.Attribute):
                return t.attr
            if isinstance(t, ast.Subscript):
                return const_str(t.slice) or ""
        if isinstance(p, ast.keyword):
            return p.arg or ""
        if isinstance(p, ast.Dict):
            for k, v in zip(p.keys, p.values):
                if v is node:
                    return const_str(k) or ""
        if isinstance(p, ast.arguments):
            defaults = p.defaults
            args = p.args[len(p.args) - len(defaults):]
            for a, d in zip(args, defaults):
                if d is node:
                    return a.arg
        return ""

    def check_credentials(self):
        for n in ast.walk(self.tree):
            s = const_str(n)
            if s is None or isinstance(n.parent, ast.Expr):  # docstrings
                continue
            what = credential_in(s, self.name_for(n))
            if what:
                self.report("hardcoded-credential", n,
                            "Hard-coded %s (%s): anyone who can see this workflow can read it. Store it as a secret, select it in the "
                            "action's secretNames and read it with os.environ['NAME']." % (what, mask(s)))

    def secret_in(self, expr, seen=None):
        seen = seen if seen is not None else set()
        found = []

        def visit(n):
            if found or n is None:
                return
            if isinstance(n, ast.UnaryOp) and isinstance(n.op, ast.Not):
                return
            if isinstance(n, ast.Compare):
                return
            if isinstance(n, ast.IfExp):
                visit(n.body)
                visit(n.orelse)
                return
            if isinstance(n, ast.BoolOp) and isinstance(n.op, ast.And):
                visit(n.values[-1])
                return
            if isinstance(n, ast.Call) and dotted(n.func) in ("bool", "len", "type", "isinstance"):
                return
            if is_function(n):
                return
            m = self.module_of(n.func) if isinstance(n, ast.Call) and isinstance(n.func, (ast.Name, ast.Attribute)) else None
            if m in ("os.getenv", "os.environ.get"):
                found.append("%s(%s)" % (m, ast.get_source_segment(self.source, n.args[0]) if n.args else ""))
                return
            if isinstance(n, ast.Subscript) and self.module_of(n.value) == "os.environ":
                found.append("os.environ[%s]" % (ast.get_source_segment(self.source, n.slice) or "..."))
                return
            if isinstance(n, (ast.Name, ast.Attribute)) and self.module_of(n) == "os.environ":
                found.append("os.environ")
                return
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
                key = (self.scope(n), n.id)
                if key in seen:
                    return
                seen.add(key)
                for v in self.values_of(n):
                    s = self.secret_in(v, seen)
                    if s:
                        found.append("%s (through %s)" % (s, n.id))
                        return
                return
            for c in ast.iter_child_nodes(n):
                visit(c)
        visit(expr)
        return found[0] if found else None

    def is_log_call(self, call):
        f = call.func
        if isinstance(f, ast.Name) and f.id == "print":
            return True
        d = dotted(f) or ""
        if d in ("sys.stdout.write", "sys.stderr.write", "pprint.pprint", "pprint"):
            return True
        if isinstance(f, ast.Attribute) and f.attr in LOG_METHODS:
            base = (dotted(f.value) or "").lower()
            return base == "logging" or base.endswith("log") or base.endswith("logger") or self.module_of(f.value) == "logging"
        return False

    def check_secret_logs(self):
        for n in ast.walk(self.tree):
            if not (isinstance(n, ast.Call) and self.is_log_call(n)):
                continue
            for arg in list(n.args) + [k.value for k in n.keywords]:
                s = self.secret_in(arg)
                if s:
                    self.report("secret-in-log", arg,
                                "The value of %s is written to the action log, which every workflow user can read. Log that the secret "
                                "is set (bool(os.environ.get('NAME'))), never its value." % s)
                    break

    # ---- outputs ------------------------------------------------------------------

    def check_outputs(self):
        keys = {}
        dynamic = False

        def add(d):
            nonlocal dynamic
            if isinstance(d, ast.Name):
                vals = self.values_of(d)
                for n in self.names_in_scope(d.id, self.scope(d)):
                    q = n.parent
                    if isinstance(q, ast.Subscript) and q.value is n and isinstance(q.ctx, ast.Store):
                        k = const_str(q.slice)
                        if k is None:
                            dynamic = True
                        else:
                            keys.setdefault(k, q)
                    elif isinstance(q, ast.Attribute) and q.value is n and q.attr in ("update", "setdefault"):
                        dynamic = True
                if len(vals) != 1:
                    dynamic = True
                    return
                d = vals[0]
            if isinstance(d, ast.Call) and dotted(d.func) == "dict":
                for k in d.keywords:
                    if k.arg is None:
                        dynamic = True
                    else:
                        keys.setdefault(k.arg, k)
                if d.args:
                    dynamic = True
                return
            if not isinstance(d, ast.Dict):
                dynamic = True
                return
            for k in d.keys:
                ks = const_str(k) if k is not None else None
                if ks is None:
                    dynamic = True
                else:
                    keys.setdefault(ks, k)

        for n in ast.walk(self.tree):
            if isinstance(n, ast.Dict):
                for k, v in zip(n.keys, n.values):
                    if k is not None and const_str(k) == "outputFields":
                        add(v)
            if isinstance(n, ast.Call) and dotted(n.func) == "dict":
                for k in n.keywords:
                    if k.arg == "outputFields":
                        add(k.value)
        if self.main is not None:
            for n in ast.walk(self.main):
                if isinstance(n, ast.Return) and n.value is not None and self.scope(n) is self.main:
                    v = n.value
                    if isinstance(v, ast.Name):
                        vals = self.values_of(v)
                        v = vals[0] if len(vals) == 1 else None
                    if not isinstance(v, ast.Dict):
                        dynamic = True
        if isinstance(self.outputs, list):
            for k, node in keys.items():
                if k not in self.outputs:
                    self.report("output-undeclared", node,
                                'Output "%s" is returned but not declared in the action\'s outputFields, so later actions cannot use it. '
                                "Declare it (with its type) or fix the name (declared: %s)." % (k, ", ".join(self.outputs) or "none"))
            if not dynamic:
                at = self.main if self.main is not None else self.tree.body[0] if self.tree.body else self.tree
                for name in self.outputs:
                    if name not in keys:
                        self.report("output-unreturned", at,
                                    'Output "%s" is declared but never returned, so later actions always see it empty. Return it: '
                                    "return {\"outputFields\": {\"%s\": ...}}." % (name, name))

    # ---- modules -----------------------------------------------------------------

    def check_modules(self):
        stdlib = set(sys.stdlib_module_names)
        for n in ast.walk(self.tree):
            names = []
            if isinstance(n, ast.Import):
                names = [a.name.split(".")[0] for a in n.names]
            elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
                names = [n.module.split(".")[0]]
            elif isinstance(n, ast.ImportFrom) and n.level > 0:
                self.report("unavailable-module", n, "A relative import cannot work: a custom code action is one file. Paste the code into the action.")
                continue
            for name in names:
                if name in stdlib or name in self.modules:
                    continue
                self.report("unavailable-module", n,
                            '"%s" is not available in the Python runtime: only the standard library and %s can be imported. '
                            "Use one of them, or call the service with requests." % (name, ", ".join(sorted(self.modules))))

    # ---- time limit ----------------------------------------------------------------

    def sleep_seconds(self, call):
        """Returns (True, seconds or None) when call sleeps."""
        m = self.module_of(call.func) if isinstance(call.func, (ast.Name, ast.Attribute)) else None
        if m in ("time.sleep", "asyncio.sleep"):
            return True, const_num(call.args[0]) if call.args else None
        return False, None

    def exits(self, loop):
        stack = [(c, 0) for c in loop.body]
        while stack:
            n, depth = stack.pop()
            if is_function(n):
                continue
            if isinstance(n, (ast.Return, ast.Raise)):
                return True
            if isinstance(n, ast.Break) and depth == 0:
                return True
            if isinstance(n, ast.Call) and dotted(n.func) in ("sys.exit", "exit", "quit", "os._exit"):
                return True
            nested = isinstance(n, (ast.For, ast.While, ast.AsyncFor))
            for c in ast.iter_child_nodes(n):
                stack.append((c, depth + (1 if nested else 0)))
        return False

    def counted(self, loop):
        incremented, compared = set(), set()
        for n in ast.walk(loop):
            if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
                incremented.add(n.target.id)
            if isinstance(n, ast.Compare):
                for side in [n.left] + n.comparators:
                    if isinstance(side, ast.Name):
                        compared.add(side.id)
                    if isinstance(side, ast.Call) and (dotted(side.func) or "").endswith(("time", "monotonic", "perf_counter", "now")):
                        compared.add("<clock>")
        return bool(incremented & compared) or "<clock>" in compared

    def check_loops(self):
        for n in ast.walk(self.tree):
            if isinstance(n, ast.While) and isinstance(n.test, ast.Constant) and n.test.value:
                sleeps = any(isinstance(c, ast.Call) and self.sleep_seconds(c)[0] for c in ast.walk(n))
                if not self.exits(n):
                    self.report("unbounded-loop", n,
                                "This loop has no break, return or raise, so it never ends: the action is stopped after %g s and fails. "
                                "Give it an exit condition and a maximum number of attempts." % self.timeout)
                elif sleeps and not self.counted(n):
                    self.report("unbounded-loop", n,
                                "This polling loop sleeps and has no attempt limit or deadline: it can run past the %g s limit. Count "
                                "the attempts (for attempt in range(3):) so that the waits add up to well under the limit." % self.timeout)
            if isinstance(n, ast.Call):
                is_sleep, secs = self.sleep_seconds(n)
                if not is_sleep or secs is None:
                    continue
                total = secs
                for a in self.ancestors(n, None):
                    if is_function(a):
                        break
                    if isinstance(a, ast.For) and isinstance(a.iter, ast.Call) and dotted(a.iter.func) == "range" and len(a.iter.args) == 1:
                        count = const_num(a.iter.args[0])
                        if count is not None:
                            total *= count
                if total >= self.timeout:
                    self.report("sleep-too-long", n,
                                "This waits %g s%s, at least the %g s limit of a custom code action, so the action is stopped and fails. "
                                "Use a workflow delay action for long waits." % (total, " in all" if total != secs else "", self.timeout))


def serve(settings):
    for line in sys.stdin:
        try:
            req = json.loads(line)
        except ValueError as e:
            out = {"id": None, "error": "bad request: %s" % e}
        else:
            try:
                findings = Linter(req.get("source", ""), req.get("inputs"), req.get("outputs"),
                                  settings.get("modules"), settings.get("timeoutMs")).run()
                out = {"id": req.get("id"), "findings": findings}
            except Exception as e:  # a bug in a check must not take the server down
                out = {"id": req.get("id"), "error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(out) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve(json.loads(sys.argv[1]) if len(sys.argv) > 1 else {})
