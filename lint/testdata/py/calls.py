import os
import requests
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException

client = HubSpot(access_token=os.getenv("HS_TOKEN"))
session = requests.Session()


def load_company(company_id):
    res = client.crm.companies.basic_api.get_by_id(company_id, properties=["name"])
    return res.properties["name"]


def orphan(deal_id):
    return client.crm.deals.basic_api.get_by_id(deal_id)  # want: unhandled-call


def main(event):
    res = requests.get("https://api.example.com/score", timeout=5)  # want: unhandled-call rate-limit-swallowed
    name = ""
    try:
        name = load_company(event["object"]["objectId"])
        r = session.post("https://api.example.com/events", json={"id": 1}, timeout=5)
        r.raise_for_status()
    except Exception as e:  # want: rate-limit-swallowed
        print("failed", e)
    try:
        client.crm.contacts.basic_api.update(event["object"]["objectId"], {"properties": {"company": name}})
    except ApiException as e:
        if e.status == 429:
            raise
        print(e)
    try:
        resp = requests.post("https://api.example.com/log", json={"name": name}, timeout=5)
        resp.raise_for_status()
    except requests.exceptions.RequestException:
        print("log failed")
        raise
    try:
        requests.post("https://api.example.com/fire", timeout=5)  # want: rate-limit-swallowed
    except KeyError:
        raise
    return {"outputFields": {"name": name, "score": res.json()["score"]}}
