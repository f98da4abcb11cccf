"""The parts of the HubSpot client every generated package shares:
configuration, HTTP transport, (de)serialisation, models and exceptions.

Each generated package (hubspot.crm.contacts, ...) gets its own subclasses of
these, as each package of HubSpot's official client has its own classes: an
ApiException from hubspot.crm.companies is not caught by
`except hubspot.crm.contacts.ApiException`, on HubSpot or here.
"""
import copy
import datetime
import json
import os
import re
import ssl
import threading
import urllib.parse
import urllib.request

import urllib3

HUBAPI = "https://api.hubapi.com"

# The version of HubSpot's official client whose names this module follows;
# it appears in the User-Agent header, as the official client's does.
CLIENT_VERSION = "12.0.0"


def default_host():
    """Returns the base URL clients use when the code sets no host.

    This is the one place that decides it: api.hubapi.com, like the official
    client. Inside Spoke's sandbox the egress proxy answers for that name
    with Spoke's own API (over TLS signed by Spoke's CA, which the sandbox
    trusts), so the same URL reaches Spoke there and HubSpot elsewhere.
    """
    return HUBAPI


# ---- configuration ----------------------------------------------------------


class ConfigurationBase:
    """Settings of one API client: host, credentials, retries, TLS, proxy.

    Attribute names are the official client's, so that
    HubSpot(access_token=..., retry=Retry(...)) and code setting them on a
    Configuration behave the same."""

    _default = None

    def __init__(self, host=None, api_key=None, api_key_prefix=None, access_token=None, username=None, password=None, discard_unknown_keys=False, disabled_client_side_validations="", server_index=None, server_variables=None, server_operation_index=None, server_operation_variables=None, ssl_ca_cert=None):
        self._base_path = default_host() if host is None else host
        self.server_index = 0 if server_index is None and host is None else server_index
        self.server_operation_index = server_operation_index or {}
        self.server_variables = server_variables or {}
        self.server_operation_variables = server_operation_variables or {}
        self.temp_folder_path = None
        self.api_key = api_key or {}
        self.api_key_prefix = api_key_prefix or {}
        self.refresh_api_key_hook = None
        self.username = username
        self.password = password
        self.access_token = access_token
        self.discard_unknown_keys = discard_unknown_keys
        self.disabled_client_side_validations = disabled_client_side_validations
        self.debug = False
        self.verify_ssl = True
        self.ssl_ca_cert = ssl_ca_cert
        self.cert_file = None
        self.key_file = None
        self.assert_hostname = None
        self.connection_pool_maxsize = 4
        self.proxy = None
        self.proxy_headers = None
        self.safe_chars_for_path_param = ""
        self.retries = None
        self.client_side_validation = True
        self.socket_options = None

    @property
    def host(self):
        return self._base_path

    @host.setter
    def host(self, value):
        self._base_path = value

    @classmethod
    def set_default(cls, default):
        cls._default = copy.deepcopy(default)

    @classmethod
    def get_default_copy(cls):
        if cls._default is not None:
            return copy.deepcopy(cls._default)
        return cls()

    def auth_settings(self):
        auth = {}
        if self.access_token is not None:
            auth["oauth2"] = {"type": "oauth2", "in": "header", "key": "Authorization", "value": "Bearer " + self.access_token}
        return auth


# ---- exceptions -------------------------------------------------------------


def _render_path(path_to_item):
    out = ""
    for p in path_to_item:
        out += "[{0}]".format(p) if isinstance(p, int) else "['{0}']".format(p)
    return out


def make_exceptions(module):
    """Returns a fresh set of the official client's exception classes,
    named as they are in `module` (a package's .exceptions module)."""

    class OpenApiException(Exception):
        """The base exception class for all OpenAPIExceptions"""

    class ApiTypeError(OpenApiException, TypeError):
        def __init__(self, msg, path_to_item=None, valid_classes=None, key_type=None):
            self.path_to_item = path_to_item
            self.valid_classes = valid_classes
            self.key_type = key_type
            if path_to_item:
                msg = "{0} at {1}".format(msg, _render_path(path_to_item))
            super().__init__(msg)

    class ApiValueError(OpenApiException, ValueError):
        def __init__(self, msg, path_to_item=None):
            self.path_to_item = path_to_item
            if path_to_item:
                msg = "{0} at {1}".format(msg, _render_path(path_to_item))
            super().__init__(msg)

    class ApiAttributeError(OpenApiException, AttributeError):
        def __init__(self, msg, path_to_item=None):
            self.path_to_item = path_to_item
            if path_to_item:
                msg = "{0} at {1}".format(msg, _render_path(path_to_item))
            super().__init__(msg)

    class ApiKeyError(OpenApiException, KeyError):
        def __init__(self, msg, path_to_item=None):
            self.path_to_item = path_to_item
            if path_to_item:
                msg = "{0} at {1}".format(msg, _render_path(path_to_item))
            super().__init__(msg)

    class ApiException(OpenApiException):
        """An HTTP error answer (or a failure to read one): .status, .reason,
        .body (the response text) and .headers."""

        def __init__(self, status=None, reason=None, http_resp=None):
            if http_resp:
                self.status = http_resp.status
                self.reason = http_resp.reason
                self.body = http_resp.data
                self.headers = http_resp.getheaders()
            else:
                self.status = status
                self.reason = reason
                self.body = None
                self.headers = None

        def __str__(self):
            msg = "({0})\nReason: {1}\n".format(self.status, self.reason)
            if self.headers:
                msg += "HTTP response headers: {0}\n".format(self.headers)
            if self.body:
                msg += "HTTP response body: {0}\n".format(self.body)
            return msg

    class NotFoundException(ApiException):
        pass

    class UnauthorizedException(ApiException):
        pass

    class ForbiddenException(ApiException):
        pass

    class ServiceException(ApiException):
        pass

    classes = [OpenApiException, ApiTypeError, ApiValueError, ApiAttributeError, ApiKeyError, ApiException, NotFoundException, UnauthorizedException, ForbiddenException, ServiceException]
    for c in classes:
        c.__module__ = module
        c.__qualname__ = c.__name__
    return {c.__name__: c for c in classes}


# ---- HTTP -------------------------------------------------------------------

_managers = {}
_managers_lock = threading.Lock()


def _env_proxy(url):
    """Returns the proxy the environment sets for url, by the rules requests
    follows (HTTP(S)_PROXY, ALL_PROXY, NO_PROXY), or None. In Spoke's
    sandbox this is the bridge to the egress proxy, the only way out."""
    parts = urllib.parse.urlsplit(url)
    proxies = urllib.request.getproxies()
    if not proxies:
        return None
    try:
        if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
            return None
    except OSError:
        pass
    return proxies.get(parts.scheme + "://" + (parts.hostname or "")) or proxies.get(parts.scheme) or proxies.get("all")


def _ca_certs(configuration):
    if configuration.ssl_ca_cert:
        return configuration.ssl_ca_cert
    # Unlike the official client (certifi only), honour the bundle the
    # environment names, as requests does: in Spoke's sandbox it adds Spoke's
    # CA, which vouches for api.hubapi.com there.
    if os.environ.get("REQUESTS_CA_BUNDLE"):
        return os.environ["REQUESTS_CA_BUNDLE"]
    try:
        import certifi

        return certifi.where()
    except ImportError:
        return None


def _ca_kw(path):
    # A hashed directory (Spoke's sandbox) is urllib3's ca_cert_dir; the
    # explicit ca_certs=None stops Debian's urllib3 from adding its whole
    # bundle, which OpenSSL would parse for every connection.
    if path and os.path.isdir(path):
        return {"ca_cert_dir": path, "ca_certs": None}
    return {"ca_certs": path}


def pool_manager(configuration, url):
    """Returns a urllib3 pool manager for url, shared by every client with
    the same settings so that connections are reused across API objects
    (the official client opens new pools for every API object)."""
    proxy = configuration.proxy or _env_proxy(url)
    key = (
        proxy,
        repr(configuration.proxy_headers),
        configuration.verify_ssl,
        configuration.ssl_ca_cert,
        configuration.cert_file,
        configuration.key_file,
        configuration.assert_hostname,
        configuration.connection_pool_maxsize,
    )
    with _managers_lock:
        pm = _managers.get(key)
        if pm is not None:
            return pm
        kw = {
            "num_pools": 4,
            "maxsize": configuration.connection_pool_maxsize or 4,
            "cert_reqs": ssl.CERT_REQUIRED if configuration.verify_ssl else ssl.CERT_NONE,
            **_ca_kw(_ca_certs(configuration)),
            "cert_file": configuration.cert_file,
            "key_file": configuration.key_file,
        }
        if configuration.assert_hostname is not None:
            kw["assert_hostname"] = configuration.assert_hostname
        if configuration.socket_options is not None:
            kw["socket_options"] = configuration.socket_options
        if proxy:
            pm = urllib3.ProxyManager(proxy_url=proxy, proxy_headers=configuration.proxy_headers, **kw)
        else:
            pm = urllib3.PoolManager(**kw)
        _managers[key] = pm
        return pm


class RESTResponse:
    """An HTTP answer: .status, .reason, .data (bytes, then text once
    decoded), getheaders() and getheader(name)."""

    def __init__(self, resp):
        self.urllib3_response = resp
        self.status = resp.status
        self.reason = resp.reason
        self.data = resp.data

    def getheaders(self):
        return self.urllib3_response.headers

    def getheader(self, name, default=None):
        return self.urllib3_response.headers.get(name, default)


class RESTClientBase:
    """Sends requests with urllib3, as the official client does, and raises
    the package's ApiException subclasses for non-2xx answers. Retries are
    urllib3's: Configuration.retries (HubSpot(retry=Retry(...))) or
    urllib3's default of 3 retries of connection errors; an HTTP error status
    is never retried unless the Retry says so."""

    exceptions = None  # set per package: {name: class}

    def __init__(self, configuration, pools_size=4, maxsize=None):
        self.configuration = configuration

    def request(self, method, url, query_params=None, headers=None, body=None, post_params=None, _preload_content=True, _request_timeout=None):
        exc = self.exceptions
        method = method.upper()
        if post_params and body:
            raise exc["ApiValueError"]("body parameter cannot be used with post_params parameter.")
        post_params = post_params or {}
        headers = headers or {}
        timeout = None
        if _request_timeout:
            if isinstance(_request_timeout, (int, float)):
                timeout = urllib3.Timeout(total=_request_timeout)
            elif isinstance(_request_timeout, tuple) and len(_request_timeout) == 2:
                timeout = urllib3.Timeout(connect=_request_timeout[0], read=_request_timeout[1])
        if "Content-Type" not in headers:
            headers["Content-Type"] = "application/json"
        kw = {"preload_content": _preload_content, "timeout": timeout, "headers": headers}
        if self.configuration.retries is not None:
            kw["retries"] = self.configuration.retries
        try:
            if method in ("POST", "PUT", "PATCH", "OPTIONS", "DELETE"):
                if query_params:
                    url += "?" + urllib.parse.urlencode(query_params)
                pm = pool_manager(self.configuration, url)
                ctype = headers["Content-Type"]
                if re.search("json", ctype, re.IGNORECASE):
                    data = json.dumps(body) if body is not None else None
                    r = pm.request(method, url, body=data, **kw)
                elif ctype == "application/x-www-form-urlencoded":
                    r = pm.request(method, url, fields=post_params, encode_multipart=False, **kw)
                elif ctype == "multipart/form-data":
                    del headers["Content-Type"]
                    r = pm.request(method, url, fields=post_params, encode_multipart=True, **kw)
                elif isinstance(body, (str, bytes)):
                    r = pm.request(method, url, body=body, **kw)
                else:
                    raise exc["ApiException"](status=0, reason="Cannot prepare a request message for provided arguments. Please check that your arguments match declared content type.")
            else:
                pm = pool_manager(self.configuration, url)
                r = pm.request(method, url, fields=query_params, **kw)
        except urllib3.exceptions.SSLError as e:
            raise exc["ApiException"](status=0, reason="{0}\n{1}".format(type(e).__name__, str(e)))
        if _preload_content:
            r = RESTResponse(r)
        if not 200 <= r.status <= 299:
            if r.status == 401:
                raise exc["UnauthorizedException"](http_resp=r)
            if r.status == 403:
                raise exc["ForbiddenException"](http_resp=r)
            if r.status == 404:
                raise exc["NotFoundException"](http_resp=r)
            if 500 <= r.status <= 599:
                raise exc["ServiceException"](http_resp=r)
            raise exc["ApiException"](http_resp=r)
        return r

    def GET(self, url, headers=None, query_params=None, _preload_content=True, _request_timeout=None):
        return self.request("GET", url, headers=headers, query_params=query_params, _preload_content=_preload_content, _request_timeout=_request_timeout)

    def HEAD(self, url, headers=None, query_params=None, _preload_content=True, _request_timeout=None):
        return self.request("HEAD", url, headers=headers, query_params=query_params, _preload_content=_preload_content, _request_timeout=_request_timeout)

    def DELETE(self, url, headers=None, query_params=None, body=None, _preload_content=True, _request_timeout=None):
        return self.request("DELETE", url, headers=headers, query_params=query_params, body=body, _preload_content=_preload_content, _request_timeout=_request_timeout)

    def POST(self, url, headers=None, query_params=None, post_params=None, body=None, _preload_content=True, _request_timeout=None):
        return self.request("POST", url, headers=headers, query_params=query_params, post_params=post_params, body=body, _preload_content=_preload_content, _request_timeout=_request_timeout)

    def PUT(self, url, headers=None, query_params=None, post_params=None, body=None, _preload_content=True, _request_timeout=None):
        return self.request("PUT", url, headers=headers, query_params=query_params, post_params=post_params, body=body, _preload_content=_preload_content, _request_timeout=_request_timeout)

    def PATCH(self, url, headers=None, query_params=None, post_params=None, body=None, _preload_content=True, _request_timeout=None):
        return self.request("PATCH", url, headers=headers, query_params=query_params, post_params=post_params, body=body, _preload_content=_preload_content, _request_timeout=_request_timeout)


# ---- (de)serialisation and the API client ------------------------------------

_PRIMITIVES = (float, bool, bytes, str, int)
_NATIVE = {"int": int, "long": int, "float": float, "str": str, "bool": bool, "date": datetime.date, "datetime": datetime.datetime, "object": object}


def _parse_datetime(s):
    try:
        return datetime.datetime.fromisoformat(s)
    except (TypeError, ValueError):
        pass
    try:
        from dateutil.parser import parse
    except ImportError:
        return s
    return parse(s)


class ApiClientBase:
    """Turns a method call into an HTTP request and the answer into models.
    Per package, `models` (name -> class), `rest_class` and `exceptions` are
    set on a subclass."""

    models = None
    rest_class = None
    exceptions = None
    configuration_class = None
    PRIMITIVE_TYPES = _PRIMITIVES
    NATIVE_TYPES_MAPPING = _NATIVE

    def __init__(self, configuration=None, header_name=None, header_value=None, cookie=None, pool_threads=1):
        if configuration is None:
            configuration = self.configuration_class.get_default_copy()
        self.configuration = configuration
        self.pool_threads = pool_threads
        self.rest_client = self.rest_class(configuration)
        self.default_headers = {}
        if header_name is not None:
            self.default_headers[header_name] = header_value
        self.cookie = cookie
        self.user_agent = "hubspot-api-client-python; {0}".format(CLIENT_VERSION)
        self.client_side_validation = configuration.client_side_validation
        self._pool = None
        self.last_response = None

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_value, traceback):
        self.close()

    def close(self):
        if self._pool:
            self._pool.close()
            self._pool.join()
            self._pool = None

    @property
    def pool(self):
        if self._pool is None:
            from multiprocessing.pool import ThreadPool

            self._pool = ThreadPool(self.pool_threads)
        return self._pool

    @property
    def user_agent(self):
        return self.default_headers["User-Agent"]

    @user_agent.setter
    def user_agent(self, value):
        self.default_headers["User-Agent"] = value

    def set_default_header(self, header_name, header_value):
        self.default_headers[header_name] = header_value

    def sanitize_for_serialization(self, obj):
        if obj is None:
            return None
        if isinstance(obj, _PRIMITIVES):
            return obj
        if isinstance(obj, list):
            return [self.sanitize_for_serialization(x) for x in obj]
        if isinstance(obj, tuple):
            return tuple(self.sanitize_for_serialization(x) for x in obj)
        if isinstance(obj, (datetime.datetime, datetime.date)):
            return obj.isoformat()
        if isinstance(obj, dict):
            d = obj
        else:
            d = {obj.attribute_map[a]: getattr(obj, a) for a in obj.openapi_types if getattr(obj, a) is not None}
        return {k: self.sanitize_for_serialization(v) for k, v in d.items()}

    def parameters_to_tuples(self, params, collection_formats):
        out = []
        collection_formats = collection_formats or {}
        for k, v in params.items() if isinstance(params, dict) else params:
            if k in collection_formats:
                fmt = collection_formats[k]
                if fmt == "multi":
                    out.extend((k, x) for x in v)
                else:
                    sep = {"ssv": " ", "tsv": "\t", "pipes": "|"}.get(fmt, ",")
                    out.append((k, sep.join(str(x) for x in v)))
            else:
                out.append((k, v))
        return out

    def select_header_accept(self, accepts):
        if not accepts:
            return None
        for a in accepts:
            if re.search("json", a, re.IGNORECASE):
                return a
        return accepts[0]

    def select_header_content_type(self, content_types, method=None, body=None):
        if not content_types:
            return None
        for c in content_types:
            if re.search("json", c, re.IGNORECASE):
                return c
        return content_types[0]

    def deserialize(self, response, response_type):
        try:
            data = json.loads(response.data)
        except ValueError:
            data = response.data
        return self._deserialize(data, response_type)

    def _deserialize(self, data, klass):
        if data is None:
            return None
        if isinstance(klass, str):
            if klass.startswith("list["):
                sub = re.match(r"list\[(.*)\]", klass).group(1)
                return [self._deserialize(x, sub) for x in data]
            if klass.startswith("dict[") or klass.startswith("dict("):
                sub = re.match(r"dict[\[(]([^,]*), (.*)[\])]", klass).group(2)
                return {k: self._deserialize(v, sub) for k, v in data.items()}
            klass = _NATIVE.get(klass) or self.models[klass]
        if klass in _PRIMITIVES:
            try:
                return klass(data)
            except (TypeError, UnicodeEncodeError):
                return data
        if klass is object:
            return data
        if klass is datetime.date:
            try:
                return _parse_datetime(data).date()
            except (AttributeError, ValueError):
                raise self.exceptions["ApiException"](status=0, reason="Failed to parse `{0}` as date object".format(data))
        if klass is datetime.datetime:
            try:
                return _parse_datetime(data)
            except ValueError:
                raise self.exceptions["ApiException"](status=0, reason="Failed to parse `{0}` as datetime object".format(data))
        kwargs = {}
        if isinstance(data, dict):
            for attr, typ in klass.openapi_types.items():
                key = klass.attribute_map[attr]
                if key in data:
                    kwargs[attr] = self._deserialize(data[key], typ)
        kwargs["local_vars_configuration"] = self.configuration
        return klass(**kwargs)

    def call_api(self, resource_path, method, path_params=None, query_params=None, header_params=None, body=None, post_params=None, files=None, response_types_map=None, auth_settings=None, async_req=None, _return_http_data_only=None, collection_formats=None, _preload_content=True, _request_timeout=None, _host=None, _request_auth=None):
        args = (resource_path, method, path_params, query_params, header_params, body, post_params, files, response_types_map, auth_settings, _return_http_data_only, collection_formats, _preload_content, _request_timeout, _host, _request_auth)
        if not async_req:
            return self._call_api(*args)
        return self.pool.apply_async(self._call_api, args)

    def _call_api(self, resource_path, method, path_params, query_params, header_params, body, post_params, files, response_types_map, auth_settings, _return_http_data_only, collection_formats, _preload_content, _request_timeout, _host, _request_auth):
        config = self.configuration
        header_params = header_params or {}
        header_params.update(self.default_headers)
        if self.cookie:
            header_params["Cookie"] = self.cookie
        if header_params:
            header_params = dict(self.parameters_to_tuples(self.sanitize_for_serialization(header_params), collection_formats))
        if path_params:
            for k, v in self.parameters_to_tuples(self.sanitize_for_serialization(path_params), collection_formats):
                resource_path = resource_path.replace("{%s}" % k, urllib.parse.quote(str(v), safe=config.safe_chars_for_path_param))
        if query_params:
            query_params = self.parameters_to_tuples(self.sanitize_for_serialization(query_params), collection_formats)
        else:
            query_params = []
        if post_params:
            post_params = self.parameters_to_tuples(self.sanitize_for_serialization(post_params), collection_formats)
        self.update_params_for_auth(header_params, query_params, auth_settings, request_auth=_request_auth)
        if body:
            body = self.sanitize_for_serialization(body)
        url = (config.host if _host is None else _host) + resource_path
        try:
            resp = self.rest_client.request(method, url, query_params=query_params, headers=header_params, post_params=post_params, body=body, _preload_content=_preload_content, _request_timeout=_request_timeout)
        except self.exceptions["ApiException"] as e:
            if isinstance(e.body, bytes):
                e.body = e.body.decode("utf-8", "replace")
            raise
        self.last_response = resp
        if not _preload_content:
            return resp
        rtype = (response_types_map or {}).get(resp.status)
        ctype = resp.getheader("content-type")
        m = re.search(r"charset=([a-zA-Z\-\d]+)[\s;]?", ctype) if ctype else None
        if isinstance(resp.data, bytes):
            resp.data = resp.data.decode(m.group(1) if m else "utf-8")
        data = self.deserialize(resp, rtype) if rtype else None
        if _return_http_data_only:
            return data
        return data, resp.status, resp.getheaders()

    def update_params_for_auth(self, headers, queries, auth_settings, request_auth=None):
        if not auth_settings:
            return
        if request_auth:
            self._apply_auth_params(headers, queries, request_auth)
            return
        for name in auth_settings:
            setting = self.configuration.auth_settings().get(name)
            if setting:
                self._apply_auth_params(headers, queries, setting)

    def _apply_auth_params(self, headers, queries, setting):
        where = setting["in"]
        if where == "cookie":
            headers["Cookie"] = setting["value"]
        elif where == "header":
            headers[setting["key"]] = setting["value"]
        elif where == "query":
            queries.append((setting["key"], setting["value"]))
        else:
            raise self.exceptions["ApiValueError"]("Authentication token must be in `query` or `header`")


# ---- models -----------------------------------------------------------------


class ModelBase:
    """A request or response object. Attributes are the Python names of the
    official client (created_at, filter_groups); to_dict() returns them, and
    to_dict(serialize=True) the JSON names."""

    openapi_types = {}
    attribute_map = {}
    _required = frozenset()
    configuration_class = None

    def __init__(self, *args, **kwargs):
        cfg = kwargs.pop("local_vars_configuration", None)
        if cfg is None:
            cfg = self.configuration_class.get_default_copy()
        self.local_vars_configuration = cfg
        names = list(self.openapi_types)
        if len(args) > len(names):
            raise TypeError("%s() takes at most %d positional arguments (%d given)" % (type(self).__name__, len(names), len(args)))
        for n, v in zip(names, args):
            if n in kwargs:
                raise TypeError("%s() got multiple values for argument '%s'" % (type(self).__name__, n))
            kwargs[n] = v
        for k in kwargs:
            if k not in self.openapi_types:
                raise TypeError("%s() got an unexpected keyword argument '%s'" % (type(self).__name__, k))
        for n in names:
            object.__setattr__(self, "_" + n, None)
        self.discriminator = None
        for n in names:
            v = kwargs.get(n)
            if v is not None or n in self._required:
                setattr(self, n, v)

    def to_dict(self, serialize=False):
        def convert(x):
            if hasattr(x, "to_dict"):
                try:
                    return x.to_dict(serialize)
                except TypeError:
                    return x.to_dict()
            return x

        result = {}
        for attr in self.openapi_types:
            value = getattr(self, attr)
            key = self.attribute_map.get(attr, attr) if serialize else attr
            if isinstance(value, list):
                result[key] = [convert(x) for x in value]
            elif isinstance(value, dict):
                result[key] = {k: convert(v) for k, v in value.items()}
            else:
                result[key] = convert(value)
        return result

    def to_str(self):
        import pprint

        return pprint.pformat(self.to_dict())

    def __repr__(self):
        return self.to_str()

    def __eq__(self, other):
        if not isinstance(other, type(self)):
            return False
        return self.to_dict() == other.to_dict()

    def __ne__(self, other):
        return not self == other

    __hash__ = None


def field_property(name, required, enum, is_list):
    """Returns the property for one model attribute, validating as the
    official client's setters do (client_side_validation on)."""
    private = "_" + name

    def get(self):
        return getattr(self, private)

    def setter(self, value):
        check = self.local_vars_configuration.client_side_validation
        if check and required and value is None:
            raise ValueError("Invalid value for `{0}`, must not be `None`".format(name))
        if check and enum is not None:
            if is_list:
                if value is not None and not set(value).issubset(set(enum)):
                    bad = ", ".join(map(str, set(value) - set(enum)))
                    raise ValueError("Invalid values for `{0}` [{1}], must be a subset of [{2}]".format(name, bad, ", ".join(map(str, enum))))
            elif value not in enum:
                raise ValueError("Invalid value for `{0}` ({1}), must be one of {2}".format(name, value, enum))
        object.__setattr__(self, private, value)

    return property(get, setter)
