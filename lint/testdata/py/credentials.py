import os
import requests
from hubspot import HubSpot

OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwx1234"  # want: hardcoded-credential
api_key = "c0ffee-5up3r-s3cr3t"  # want: hardcoded-credential
SECRET_NAME = "PRIVATE_APP_TOKEN"
placeholder_token = "YOUR_TOKEN_HERE"
token_url = "https://api.example.com/oauth/token"


def main(event):
    client = HubSpot(access_token="pat-eu1-11111111-2222-3333-4444-555555555555")  # want: hardcoded-credential
    from_env = HubSpot(access_token=os.environ[SECRET_NAME])
    headers = {"Authorization": "Bearer abcdefghijklmnopqrstuvwxyz0123"}  # want: hardcoded-credential
    try:
        r = requests.post(token_url, headers=headers, timeout=5)
        r.raise_for_status()
        r = requests.post(token_url, headers={"Authorization": f"Bearer {os.environ['OPENAI_KEY']}"}, timeout=5)
        r.raise_for_status()
    except requests.RequestException:
        raise
    return {"outputFields": {"ok": bool(client and from_env and placeholder_token and api_key and OPENAI_KEY)}}
