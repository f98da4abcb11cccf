# spoke-lint: outputs=a,b
# Outputs built at run time cannot be read statically: no finding.
def main(event):
    out = {}
    for k in ("a", "b"):
        out[k] = str(event["object"]["objectId"]) + k
    return {"outputFields": out}
