# spoke-lint: inputs=email outputs=email,phone
# HubSpot's documented Python sample, with the checklist applied: no findings.
import os
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException


def main(event):
    hubspot = HubSpot(access_token=os.getenv('SECRET_NAME'))
    phone = None
    try:
        api_response = hubspot.crm.contacts.basic_api.get_by_id(event.get('object').get('objectId'), properties=['phone'])
        phone = api_response.properties.get('phone')
    except ApiException as e:
        print(e)
        # HubSpot retries the action when the rate-limit error is raised again.
        raise
    email = event.get('inputFields').get('email') or ''
    return {
        "outputFields": {
            "email": email.lower(),
            "phone": phone,
        }
    }
