import logging
import os

logger = logging.getLogger(__name__)


def main(event):
    print(os.environ["HUBSPOT_TOKEN"])  # want: secret-in-log
    token = os.getenv("OPENAI_KEY")
    headers = {"Authorization": f"Bearer {token}"}
    print("calling with " + token)  # want: secret-in-log
    logger.info("headers %s", headers)  # want: secret-in-log
    logging.debug(f"key={os.environ.get('OPENAI_KEY')}")  # want: secret-in-log
    print("env", os.environ)  # want: secret-in-log
    print("token set:", bool(token))
    print("token present", token is not None, len(token))
    print("configured" if token else "missing")
    print("object", event["object"]["objectId"])
    return {"outputFields": {}}
