"""The client object: HubSpot(access_token=...).crm.contacts.basic_api..."""
import json
from urllib.parse import urlencode

from . import _rest

# Top-level areas of the official client this module does not cover.
_NOT_COVERED = ("automation", "cms", "communication_preferences", "conversations", "events", "files", "marketing", "oauth", "settings", "webhooks")


class Client:
    """Holds the settings every API object is created with: access_token,
    api_key, retry (a urllib3 Retry) and any Configuration attribute such as
    host."""

    def __init__(self, api_key=None, access_token=None, retry=None, **kwargs):
        self.config = dict({"api_key": api_key, "access_token": access_token, "retry": retry}, **kwargs)

    @classmethod
    def create(cls, **kwargs):
        return cls(**kwargs)

    @property
    def access_token(self):
        return self.config["access_token"]

    @access_token.setter
    def access_token(self, value):
        self.config["access_token"] = value

    @property
    def api_key(self):
        return self.config["api_key"]

    @api_key.setter
    def api_key(self, value):
        self.config["api_key"] = value

    @property
    def crm(self):
        from .discovery import discovery

        return discovery("crm")(self.config)

    def __getattr__(self, name):
        if name in _NOT_COVERED:
            raise AttributeError(
                "client.%s is not available: Spoke's hubspot module covers client.crm "
                "(use client.api_request or requests for other HubSpot APIs)" % name
            )
        raise AttributeError("'%s' object has no attribute '%s'" % (type(self).__name__, name))

    def api_request(self, options):
        """Sends one request to any path of the API with the client's
        credentials and returns the requests.Response, as the official
        client's api_request does. options: method, path, qs, body, headers,
        base_url, default_json, auth_type."""
        import requests

        options = dict(options or {})
        default_json = options.get("default_json", True)
        headers = {"User-Agent": self.config.get("user_agent", "custom-python-client/1.0")}
        if default_json:
            headers["Content-Type"] = "application/json"
            headers["Accept"] = "application/json, */*;q=0.8"
        headers.update(options.get("headers") or {})
        qs = dict(options.get("qs") or {})
        auth = options.get("auth_type")
        if auth not in ("access_token", "api_key") or not self.config.get(auth):
            auth = next((k for k in ("access_token", "api_key") if self.config.get(k)), None)
        if auth == "api_key":
            qs["hapikey"] = self.config["api_key"]
        elif auth == "access_token":
            headers["Authorization"] = "Bearer " + self.config["access_token"]
        url = options.get("base_url", self.config.get("base_url") or _rest.default_host()) + options.get("path", "")
        if qs:
            url += ("&" if "?" in url else "?") + urlencode(qs, doseq=True)
        kw = {"headers": headers}
        body = options.get("body")
        if body:
            kw["data"] = json.dumps(body) if default_json and isinstance(body, (dict, list)) else body
        send = getattr(requests, options.get("method", "GET").lower(), requests.get)
        return send(url, **kw)
