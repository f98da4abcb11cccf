import json
import hashlib
import os.path
from datetime import datetime, timezone
import pandas as pd
import numpy as np
from googleapiclient.discovery import build
from google.oauth2 import service_account
import yaml  # want: unavailable-module
from openai import OpenAI  # want: unavailable-module
import mysql.connector  # want: unavailable-module
from . import helpers  # want: unavailable-module


def main(event):
    h = hashlib.sha256(json.dumps(event).encode()).hexdigest()
    return {"outputFields": {"h": h, "t": datetime.now(timezone.utc).isoformat(), "n": str(type(pd) is type(np)),
                             "x": str(build is None or service_account is None or yaml is None or OpenAI is None or os.path is None or mysql is None or helpers is None)}}
