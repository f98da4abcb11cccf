# spoke-lint: inputs=email,firstname,company,score,country,phone,amount
def main(event):
    email = event.get("inputFields").get("email")
    domain = email.split("@")[1]  # want: unchecked-input
    first = event["inputFields"]["firstname"].strip()  # want: unchecked-input

    company = event.get("inputFields").get("company")
    if not company:
        return {"outputFields": {"domain": domain, "first": first, "company": ""}}
    upper = company.upper()

    score = event.get("inputFields").get("score") or "0"
    parts = score.split(".")

    country = event.get("inputFields").get("country", "")
    cc = country[:2]

    phone = event.get("inputFields").get("phone")
    digits = "".join(c for c in phone if c.isdigit()) if phone else ""

    inputs = event.get("inputFields", {})
    city = inputs.get("city").lower()  # want: unchecked-input input-undeclared
    total = int(event["inputFields"]["amount"])  # want: unchecked-input
    return {"outputFields": {"domain": domain, "first": first, "company": upper, "parts": len(parts), "cc": cc, "digits": digits, "city": city, "total": total}}
