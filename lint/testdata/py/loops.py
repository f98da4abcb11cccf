import time
import requests


def wait_forever():
    while True:  # want: unbounded-loop
        time.sleep(1)


def poll_until_ready(url):
    while True:  # want: unbounded-loop
        res = requests.get(url, timeout=5)
        res.raise_for_status()
        if res.json()["ready"]:
            return res.json()
        time.sleep(2)


def poll_with_limit(url):
    attempts = 0
    while True:
        res = requests.get(url, timeout=5)
        res.raise_for_status()
        if res.json()["ready"]:
            return res.json()
        attempts += 1
        if attempts >= 3:
            raise RuntimeError("not ready after 3 attempts")
        time.sleep(2)


def main(event):
    try:
        time.sleep(30)  # want: sleep-too-long
        for _ in range(10):
            time.sleep(5)  # want: sleep-too-long
        time.sleep(0.5)
        wait_forever()
        poll_until_ready("https://api.example.com/job")
        poll_with_limit("https://api.example.com/job")
    except requests.RequestException:
        raise
    return {"outputFields": {}}
