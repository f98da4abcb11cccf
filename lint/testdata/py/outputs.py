# spoke-lint: outputs=tier,score,owner_email
def main(event):  # want: output-unreturned
    score = float(event.get("inputFields").get("score") or 0)
    tier = "C"
    if score > 80:
        tier = "A"
    elif score > 50:
        tier = "B"
    return {
        "outputFields": {
            "tier": tier,
            "score": score,
            "ownerEmail": "",  # want: output-undeclared
        }
    }
