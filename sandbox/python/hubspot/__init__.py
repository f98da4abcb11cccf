"""Spoke's `hubspot` module: HubSpot's Python API client for custom code.

It has the import paths, class names, method names, models and exceptions of
HubSpot's official client (hubspot-api-client) for the CRM APIs custom code
uses, built at import time from api.json (see _packages.py). Inside Spoke's
sandbox requests go to Spoke's API by default (see _rest.default_host).
"""
from . import _packages

_packages.install()

from .client import Client  # noqa: E402
from .hubspot import HubSpot  # noqa: E402

__all__ = ["Client", "HubSpot"]
