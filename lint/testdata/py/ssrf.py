from urllib.parse import urlparse
import requests

ALLOWED = {"hooks.example.com"}


def main(event):
    inputs = event.get("inputFields")
    site = inputs.get("website") or ""
    ext_id = inputs.get("external_id") or ""
    hook = inputs.get("hook_url") or ""
    try:
        requests.get(f"https://{site}/api/status", timeout=5).raise_for_status()  # want: ssrf-url-from-input
        requests.get("https://" + site + "/about", timeout=5).raise_for_status()  # want: ssrf-url-from-input
        requests.get(inputs.get("callback_url"), timeout=5).raise_for_status()  # want: ssrf-url-from-input
        requests.get("https://{}/x".format(site), timeout=5).raise_for_status()  # want: ssrf-url-from-input
        requests.request("POST", url="%s/y" % site, timeout=5).raise_for_status()  # want: ssrf-url-from-input
        requests.get(f"https://api.example.com/records/{ext_id}", timeout=5).raise_for_status()
        url = f"https://api.example.com/search?q={site}"
        requests.get(url, timeout=5).raise_for_status()
        if urlparse(hook).hostname not in ALLOWED:
            raise ValueError("hook host not allowed")
        requests.post(hook, json={"id": ext_id}, timeout=5).raise_for_status()
    except requests.RequestException:
        raise
    return {"outputFields": {}}
