"""Builds hubspot.crm.contacts and the other API packages from api.json.

api.json describes what HubSpot's official Python client generates from
HubSpot's OpenAPI documents (scripts/hubspot-python-spec.py writes it): per
package, its API classes and their methods, and its models. This module
turns each description into a package at import time, with the official
client's import paths:

    hubspot.crm.contacts                     BasicApi, ..., models, ApiException
    hubspot.crm.contacts.api.basic_api       BasicApi
    hubspot.crm.contacts.models.filter       Filter
    hubspot.crm.contacts.exceptions          ApiException, ...
    hubspot.crm.contacts.configuration       Configuration
    hubspot.crm.contacts.api_client          ApiClient
    hubspot.crm.contacts.rest                RESTClientObject, ApiException
"""
import importlib.abc
import importlib.machinery
import inspect
import json
import pkgutil
import re
import sys
import threading
import types

from . import _rest

ROOT = __name__.rpartition(".")[0]  # "hubspot"
CONTROL_PARAMS = ("async_req", "_return_http_data_only", "_preload_content", "_request_timeout", "_request_auth", "_content_type", "_headers")
_SUBMODULES = ("api", "models", "exceptions", "configuration", "api_client", "rest")

_spec = None
_spec_lock = threading.Lock()


def spec():
    """Returns api.json, read once."""
    global _spec
    with _spec_lock:
        if _spec is None:
            _spec = json.loads(pkgutil.get_data(ROOT, "api.json"))
        return _spec


def snake(name):
    """Returns the official client's module name for a class name:
    BasicApi -> basic_api, PublicObjectSearchRequest ->
    public_object_search_request."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name).lower()


def _module(name, doc=None, package=False):
    m = types.ModuleType(name, doc)
    m.__package__ = name if package else name.rpartition(".")[0]
    if package:
        m.__path__ = []
    m.__loader__ = _LOADER
    sys.modules[name] = m
    return m


def make_model(name, fields, configuration, pkg):
    """Returns a model class for one entry of api.json's models."""
    ns = {
        "__module__": pkg + ".models." + snake(name),
        "__doc__": "%s - a model of HubSpot's API, as in the official client." % name,
        "openapi_types": {f["name"]: f["type"] for f in fields},
        "attribute_map": {f["name"]: f.get("key", f["name"]) for f in fields},
        "_required": frozenset(f["name"] for f in fields if f.get("required")),
        "configuration_class": configuration,
    }
    for f in fields:
        ns[f["name"]] = _rest.field_property(f["name"], f.get("required", False), f.get("enum"), f["type"].startswith("list["))
    cls = type(name, (_rest.ModelBase,), ns)
    params = [inspect.Parameter(f["name"], inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None) for f in fields]
    params.append(inspect.Parameter("local_vars_configuration", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None))
    cls.__signature__ = inspect.Signature(params)
    return cls


def make_method(name, m, exceptions, with_info):
    """Returns one API method (get_by_id or get_by_id_with_http_info) from
    its description: HTTP method, path, and where each parameter goes."""
    positional = m["positional"]
    params = m["params"]
    allowed = {p["name"] for p in params} | set(CONTROL_PARAMS)
    responses = {int(k): v for k, v in m["responses"].items()}
    accept = ["application/json", "*/*"] if responses else ["*/*"]
    has_body = "body" in m
    content_types = m.get("contentTypes", ["application/json"])
    method_name = name + ("_with_http_info" if with_info else "")

    def call(self, *args, **kwargs):
        if len(args) > len(positional):
            raise TypeError("%s() takes %d positional arguments but %d were given" % (method_name, len(positional) + 1, len(args) + 1))
        for n, v in zip(positional, args):
            if n in kwargs:
                raise TypeError("%s() got multiple values for argument '%s'" % (method_name, n))
            kwargs[n] = v
        missing = [n for n in positional if n not in kwargs]
        if missing:
            raise TypeError("%s() missing %d required positional argument%s: %s" % (method_name, len(missing), "" if len(missing) == 1 else "s", ", ".join("'%s'" % n for n in missing)))
        for k in kwargs:
            if k not in allowed:
                raise exceptions["ApiTypeError"]("Got an unexpected keyword argument '%s' to method %s" % (k, name))
        if not with_info:
            kwargs["_return_http_data_only"] = True
        client = self.api_client
        for p in params:
            if p.get("required") and client.client_side_validation and kwargs.get(p["name"]) is None:
                raise exceptions["ApiValueError"]("Missing the required parameter `%s` when calling `%s`" % (p["name"], name))
        path_params, query, formats, body = {}, [], {}, None
        for p in params:
            n = p["name"]
            key = p.get("key", n)
            if p["in"] == "path":
                if n in kwargs:
                    path_params[key] = kwargs[n]
            elif p["in"] == "query":
                if kwargs.get(n) is not None:
                    query.append((key, kwargs[n]))
                    if p.get("multi"):
                        formats[key] = "multi"
            elif n in kwargs:
                body = kwargs[n]
        headers = dict(kwargs.get("_headers", {}))
        headers["Accept"] = client.select_header_accept(accept)
        if has_body:
            ctype = kwargs.get("_content_type", client.select_header_content_type(content_types, m["http"], body))
            if ctype:
                headers["Content-Type"] = ctype
        return client.call_api(
            m["path"],
            m["http"],
            path_params,
            query,
            headers,
            body=body,
            post_params=[],
            files={},
            response_types_map=responses,
            auth_settings=["oauth2"],
            async_req=kwargs.get("async_req"),
            _return_http_data_only=kwargs.get("_return_http_data_only"),
            _preload_content=kwargs.get("_preload_content", True),
            _request_timeout=kwargs.get("_request_timeout"),
            collection_formats=formats,
            _request_auth=kwargs.get("_request_auth"),
        )

    call.__name__ = call.__qualname__ = method_name
    sig = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    sig += [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in positional]
    sig.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    call.__signature__ = inspect.Signature(sig)
    others = [p["name"] for p in params if p["name"] not in positional]
    call.__doc__ = "%s %s%s" % (m["http"], m["path"], ("\n\nKeyword arguments: " + ", ".join(others)) if others else "")
    return call


def make_api(cname, methods, api_client_class, exceptions, module):
    def __init__(self, api_client=None):
        if api_client is None:
            api_client = api_client_class()
        self.api_client = api_client

    ns = {"__init__": __init__, "__module__": module, "__doc__": "%s of HubSpot's API, as in the official client." % cname}
    for name, m in methods.items():
        ns[name] = make_method(name, m, exceptions, False)
        ns[name + "_with_http_info"] = make_method(name, m, exceptions, True)
    return type(cname, (), ns)


def build(mod):
    """Fills the package module `mod` (hubspot.<dotted>) and its
    submodules."""
    name = mod.__name__
    dotted = name[len(ROOT) + 1 :]
    s = spec()
    pk = s["packages"][dotted]
    sub = {n: _module(name + "." + n, package=n in ("api", "models")) for n in _SUBMODULES}
    for n, m in sub.items():
        setattr(mod, n, m)

    exceptions = _rest.make_exceptions(name + ".exceptions")
    configuration = type("Configuration", (_rest.ConfigurationBase,), {"__module__": name + ".configuration", "_default": None})
    rest_client = type("RESTClientObject", (_rest.RESTClientBase,), {"__module__": name + ".rest", "exceptions": exceptions})
    models = {}
    api_client = type(
        "ApiClient",
        (_rest.ApiClientBase,),
        {"__module__": name + ".api_client", "models": models, "rest_class": rest_client, "exceptions": exceptions, "configuration_class": configuration},
    )
    for mname in pk["models"]:
        models[mname] = make_model(mname, s["models"][pk.get("modelKeys", {}).get(mname, mname)], configuration, name)
    for old, new in pk.get("aliases", {}).items():
        models[old] = models[new]
    apis = {cname: make_api(cname, methods, api_client, exceptions, name + ".api." + snake(cname)) for cname, methods in pk["apis"].items()}

    sub["exceptions"].__dict__.update(exceptions)
    sub["exceptions"].render_path = _rest._render_path
    sub["configuration"].Configuration = configuration
    sub["rest"].RESTClientObject = rest_client
    sub["rest"].RESTResponse = _rest.RESTResponse
    sub["rest"].__dict__.update(exceptions)
    sub["api_client"].ApiClient = api_client
    for mname, cls in models.items():
        m = _module(name + ".models." + snake(mname))
        setattr(m, mname, cls)
        setattr(sub["models"], snake(mname), m)
        setattr(sub["models"], mname, cls)
    for cname, cls in apis.items():
        m = _module(name + ".api." + snake(cname))
        setattr(m, cname, cls)
        setattr(sub["api"], snake(cname), m)
        setattr(sub["api"], cname, cls)
    mod.__dict__.update(exceptions)
    mod.__dict__.update(models)
    mod.__dict__.update(apis)
    mod.Configuration = configuration
    mod.ApiClient = api_client
    mod.__version__ = "1.0.0"
    mod.__all__ = sorted(list(exceptions) + list(models) + list(apis) + ["Configuration", "ApiClient"])


def _prefixes():
    out = set()
    for dotted in spec()["packages"]:
        parts = dotted.split(".")
        for i in range(1, len(parts)):
            out.add(".".join(parts[:i]))
    return out


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds hubspot.<package> for every package of api.json, and the
    packages above them (hubspot.crm, hubspot.crm.associations)."""

    def find_spec(self, fullname, path, target=None):
        if not fullname.startswith(ROOT + "."):
            return None
        dotted = fullname[len(ROOT) + 1 :]
        if dotted in spec()["packages"] or dotted in _prefixes():
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, module_spec):
        return None

    def exec_module(self, module):
        module.__path__ = []
        dotted = module.__name__[len(ROOT) + 1 :]
        if dotted in spec()["packages"]:
            build(module)


_LOADER = _Finder()


def install():
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.append(_LOADER)
