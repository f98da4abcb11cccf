# spoke-lint: inputs=csv_data outputs=total,rows
# A realistic data-crunching action: clean.
import io
import pandas as pd


def main(event):
    data = event.get("inputFields").get("csv_data")
    if not data:
        return {"outputFields": {"total": 0, "rows": 0}}
    df = pd.read_csv(io.StringIO(data))
    return {"outputFields": {"total": float(df["amount"].sum()), "rows": int(len(df))}}
