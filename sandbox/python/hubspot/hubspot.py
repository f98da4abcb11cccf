from .client import Client


class HubSpot(Client):
    """The client custom code creates: HubSpot(access_token=...)."""
