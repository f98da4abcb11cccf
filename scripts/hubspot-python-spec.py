#!/usr/bin/env python3
"""Writes sandbox/python/hubspot/api.json, the description of the HubSpot API
that Spoke's `hubspot` Python module builds its classes from.

It reads a checkout of HubSpot's official Python client
(github.com/HubSpot/hubspot-api-python) and records, for the packages Spoke
ships, only names and shapes: each API class's methods (HTTP method, path,
parameters and where they go, body parameter, response types), each model's
attributes (Python name, JSON name, type, required, allowed values) and the
`client.<...>` discovery tree. No code is copied: the module in
sandbox/python/hubspot/ implements the behaviour itself.

Usage: scripts/hubspot-python-spec.py PATH_TO_CHECKOUT [OUT]
"""
import ast
import json
import os
import sys

# The packages Spoke ships, as dotted names under hubspot/. Each is one
# OpenAPI-generated package of the official client.
PACKAGES = [
    "crm.contacts",
    "crm.companies",
    "crm.deals",
    "crm.tickets",
    "crm.line_items",
    "crm.products",
    "crm.quotes",
    "crm.objects",
    "crm.objects.calls",
    "crm.objects.communications",
    "crm.objects.emails",
    "crm.objects.meetings",
    "crm.objects.notes",
    "crm.objects.postal_mail",
    "crm.objects.tasks",
    "crm.associations",
    "crm.associations.v4",
    "crm.owners",
    "crm.pipelines",
    "crm.properties",
    "crm.schemas",
]

# Names of models older releases of the client used, mapped to the current
# model with the same JSON shape, so that code written against them runs.
ALIASES = {
    "BatchInputSimplePublicObjectInput": "BatchInputSimplePublicObjectBatchInputForCreate",
    "BatchInputSimplePublicObjectInputForCreate": "BatchInputSimplePublicObjectBatchInputForCreate",
}

CONTROL_PARAMS = {"async_req", "_return_http_data_only", "_preload_content", "_request_timeout", "_request_auth", "_content_type", "_headers"}


def literal(node):
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def sub_key(node):
    """Returns K for an expression local_var_params["K"]."""
    if isinstance(node, ast.Subscript):
        return literal(node.slice)
    return None


def parse_api(path):
    """Returns {method_name: description} for one *_api.py file."""
    tree = ast.parse(open(path, encoding="utf-8").read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    funcs = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    methods = {}
    for name, f in funcs.items():
        if name.startswith("_") or name.endswith("_with_http_info"):
            continue
        info = funcs.get(name + "_with_http_info")
        if info is None:
            continue
        positional = [a.arg for a in f.args.args[1:]]
        m = {"positional": positional, "params": [], "path": None, "http": None, "body": None, "responses": {}, "contentTypes": None}
        wire = {}  # python name -> [location, wire name]
        multi_keys = set()  # wire names of query parameters sent as repeated keys
        for node in ast.walk(info):
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                t = node.targets[0]
                if isinstance(t, ast.Name) and t.id == "all_params" and isinstance(node.value, ast.List):
                    m["all"] = literal(node.value)
                elif isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "path_params":
                    wire[sub_key(node.value)] = ["path", literal(t.slice)]
                elif isinstance(t, ast.Name) and t.id == "body_params" and isinstance(node.value, ast.Subscript):
                    m["body"] = sub_key(node.value)
                elif isinstance(t, ast.Name) and t.id == "response_types_map" and isinstance(node.value, ast.Dict):
                    m["responses"] = {str(k): v for k, v in literal(node.value).items()}
                elif isinstance(t, ast.Subscript) and isinstance(t.value, ast.Name) and t.value.id == "collection_formats":
                    if literal(node.value) == "multi":
                        multi_keys.add(literal(t.slice))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "append" and isinstance(node.func.value, ast.Name) and node.func.value.id == "query_params":
                    tup = node.args[0]
                    wire[sub_key(tup.elts[1])] = ["query", literal(tup.elts[0])]
                elif node.func.attr == "call_api":
                    m["path"] = literal(node.args[0])
                    m["http"] = literal(node.args[1])
                elif node.func.attr == "select_header_content_type":
                    m["contentTypes"] = literal(node.args[0])
        required = set()
        for node in ast.walk(info):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ApiValueError":
                msg = literal(node.args[0]) or ""
                if msg.startswith("Missing the required parameter `"):
                    required.add(msg.split("`")[1])
        for p in m.pop("all"):
            if p in CONTROL_PARAMS:
                continue
            if p in wire:
                loc, key = wire[p]
            elif p == m["body"]:
                loc, key = "body", p
            else:
                raise SystemExit("%s: %s.%s: cannot tell where %s goes" % (path, cls.name, name, p))
            d = {"name": p, "in": loc}
            if key != p:
                d["key"] = key
            if loc == "query" and key in multi_keys:
                d["multi"] = True
            if p in required:
                d["required"] = True
            m["params"].append(d)
        if not m["contentTypes"] or m["contentTypes"] == ["application/json"]:
            m.pop("contentTypes")
        if not m["body"]:
            m.pop("body")
        methods[name] = m
    return cls.name, methods


def parse_model(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    types = amap = None
    setters = {}
    for n in cls.body:
        if isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name):
            if n.targets[0].id == "openapi_types":
                types = literal(n.value)
            elif n.targets[0].id == "attribute_map":
                amap = literal(n.value)
        elif isinstance(n, ast.FunctionDef) and any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in n.decorator_list):
            setters[n.name] = n
    fields = []
    for attr, typ in types.items():
        f = {"name": attr, "type": typ}
        if amap.get(attr, attr) != attr:
            f["key"] = amap[attr]
        s = setters.get(attr)
        if s is not None:
            for node in ast.walk(s):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "ValueError":
                    msg = node.args[0]
                    if isinstance(msg, ast.Call):  # "...".format(...)
                        msg = msg.func.value
                    text = literal(msg) or ""
                    if text.endswith("must not be `None`"):
                        f["required"] = True
                if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name) and node.targets[0].id == "allowed_values":
                    f["enum"] = literal(node.value)
        fields.append(f)
    return cls.name, fields


def snake(name):
    out = ""
    for i, c in enumerate(name):
        if c.isupper() and i > 0 and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out += "_"
        out += c.lower()
    return out


def parse_discovery(root, dotted):
    """Returns the discovery node for hubspot/discovery/<dotted>/discovery.py:
    its APIs ({attribute: class}), the package they come from, whether it has
    get_all, and its children (attribute -> dotted name)."""
    path = os.path.join(root, "hubspot", "discovery", *dotted.split("."), "discovery.py")
    tree = ast.parse(open(path, encoding="utf-8").read())
    node = {"apis": {}, "children": {}}
    for imp in tree.body:
        if isinstance(imp, ast.Import) and imp.names[0].asname == "api_client":
            node["package"] = imp.names[0].name[len("hubspot."):]
    cls = next(n for n in tree.body if isinstance(n, ast.ClassDef))
    for f in cls.body:
        if not isinstance(f, ast.FunctionDef):
            continue
        if f.name == "get_all":
            node["getAll"] = True
            continue
        for n in ast.walk(f):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "_configure_api_client":
                node["apis"][f.name] = literal(n.args[1])
            if isinstance(n, ast.ImportFrom) and n.module and n.module.endswith(".discovery"):
                node["children"][f.name] = dotted + "." + n.module[: -len(".discovery")].lstrip(".")
    return node


def main():
    root = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sandbox", "python", "hubspot", "api.json")
    version = open(os.path.join(root, "VERSION")).read().strip() if os.path.exists(os.path.join(root, "VERSION")) else ""
    models = {}  # name -> fields, shared by every package that has the model
    packages = {}
    for dotted in PACKAGES:
        pdir = os.path.join(root, "hubspot", *dotted.split("."))
        apis = {}
        for fn in sorted(os.listdir(os.path.join(pdir, "api"))):
            if fn.endswith("_api.py"):
                cname, methods = parse_api(os.path.join(pdir, "api", fn))
                apis[cname] = methods
        pmodels = []
        keys = {}  # model name -> key in models, where the package's differs
        for fn in sorted(os.listdir(os.path.join(pdir, "models"))):
            if fn.endswith(".py") and fn != "__init__.py":
                mname, fields = parse_model(os.path.join(pdir, "models", fn))
                if models.setdefault(mname, fields) != fields:
                    # Models are shared by name; a package whose model of
                    # that name differs (crm.schemas' ModelProperty) keeps
                    # its own under "package:Name".
                    keys[mname] = dotted + ":" + mname
                    models[keys[mname]] = fields
                pmodels.append(mname)
        aliases = {old: new for old, new in ALIASES.items() if new in pmodels}
        packages[dotted] = {"apis": apis, "models": pmodels}
        if keys:
            packages[dotted]["modelKeys"] = keys
        if aliases:
            packages[dotted]["aliases"] = aliases
    # Discovery: client.crm.<...>, limited to the shipped packages.
    discovery = {}

    def walk(dotted):
        node = parse_discovery(root, dotted)
        if node.get("package") not in packages:
            node.pop("package", None)
            node["apis"] = {}
        kids = {}
        for attr, child in node.pop("children").items():
            sub = walk(child)
            if sub is not None:
                kids[attr] = sub
        if kids:
            node["children"] = kids
        if not node["apis"]:
            node.pop("apis")
            node.pop("getAll", None)
        if "apis" not in node and "children" not in node:
            return None
        return node

    discovery["crm"] = walk("crm")
    spec = {
        "source": "HubSpot/hubspot-api-python " + version,
        "packages": packages,
        "models": models,
        "discovery": discovery,
    }
    with open(out, "w", encoding="utf-8") as f:
        json.dump(spec, f, separators=(",", ":"), sort_keys=True)
        f.write("\n")
    print("wrote %s: %d packages, %d models, %d bytes" % (out, len(packages), len(models), os.path.getsize(out)))


if __name__ == "__main__":
    main()
