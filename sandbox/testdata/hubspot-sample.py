# HubSpot's documented Python custom code shape, reading the record through
# Spoke's API with requests (HubSpot's Python client is not packaged).
import os
import requests

def main(event):
  email = event.get('inputFields').get('email')
  object_id = event.get('object').get('objectId')
  r = requests.get(os.environ['SPOKE_API_URL'] + '/crm/v3/objects/contacts/' + str(object_id) + '?properties=phone',
                   headers={'Authorization': 'Bearer ' + os.getenv('secretName')})
  r.raise_for_status()
  return {
    "outputFields": {
      "email": email,
      "phone": r.json()['properties'].get('phone')
    }
  }
