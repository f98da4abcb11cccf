# HubSpot's documented Python custom code shape, reading the record from
# HubSpot's API with requests. In Spoke's sandbox api.hubapi.com is Spoke's
# own API (the egress proxy answers for it), so the code runs unchanged.
import os
import requests

def main(event):
  email = event.get('inputFields').get('email')
  object_id = event.get('object').get('objectId')
  r = requests.get('https://api.hubapi.com/crm/v3/objects/contacts/' + str(object_id) + '?properties=phone',
                   headers={'Authorization': 'Bearer ' + os.getenv('secretName')})
  r.raise_for_status()
  return {
    "outputFields": {
      "email": email,
      "phone": r.json()['properties'].get('phone')
    }
  }
