"""The client.crm.<...> attribute tree, built from api.json's discovery."""
import importlib

from ..utils.objects import fetch_all
from .._packages import ROOT, spec


class DiscoveryBase:
    """Holds the client's settings and creates configured API objects, as
    the official client's DiscoveryBase does: every access to an attribute
    such as basic_api creates a new API object."""

    def __init__(self, config):
        self.config = config

    def _configure_api_client(self, api_client_package, api_name):
        api_factory = self.config.get("api_factory") or self._default_api_factory
        config = {k: v for k, v in self.config.items() if k != "api_factory" and v is not None}
        return api_factory(api_client_package, api_name, config)

    @staticmethod
    def _default_api_factory(api_client_package, api_name, config):
        configuration = api_client_package.Configuration()
        for key in config:
            if key == "api_key":
                configuration.api_key["developer_hapikey"] = config["api_key"]
            elif key == "retry":
                configuration.retries = config["retry"]
            else:
                setattr(configuration, key, config[key])
        api_client = api_client_package.ApiClient(configuration=configuration)
        from .._rest import CLIENT_VERSION

        api_client.user_agent = "hubspot-api-client-python; {0}".format(CLIENT_VERSION)
        return getattr(api_client_package, api_name)(api_client=api_client)


def _api_property(package, cls_name):
    def get(self):
        return self._configure_api_client(importlib.import_module(ROOT + "." + package), cls_name)

    return property(get, doc="A new %s of hubspot.%s." % (cls_name, package))


def _child_property(cls):
    return property(lambda self: cls(self.config))


def _get_all(self, *args, **kwargs):
    """Returns every object, following paging (get_page 100 at a time)."""
    if args:  # client.crm.objects.get_all(object_type, ...)
        api = self.basic_api
        return fetch_all(_Bound(api, args), **kwargs)
    return fetch_all(self._get_all_api(), **kwargs)


class _Bound:
    """Calls get_page with leading positional arguments (an object type)."""

    def __init__(self, api, args):
        self.api, self.args = api, args

    def get_page(self, **kwargs):
        return self.api.get_page(*self.args, **kwargs)


def _make_class(path, node):
    ns = {"__module__": __name__, "__doc__": "client.%s" % path}
    apis = node.get("apis", {})
    for attr, cls_name in apis.items():
        ns[attr] = _api_property(node["package"], cls_name)
    for attr, child in node.get("children", {}).items():
        ns[attr] = _child_property(_make_class(path + "." + attr, child))
    if node.get("getAll"):
        getter = "owners_api" if "owners_api" in apis else "basic_api"
        ns["_get_all_api"] = lambda self, getter=getter: getattr(self, getter)
        ns["get_all"] = _get_all
    name = "".join(p.title() for p in path.replace("_", ".").split(".")) + "Discovery"
    return type(name, (DiscoveryBase,), ns)


_classes = {}


def discovery(name):
    """Returns the discovery class for client.<name> (e.g. crm)."""
    if name not in _classes:
        _classes[name] = _make_class(name, spec()["discovery"][name])
    return _classes[name]
