// spoke-lint: inputs=email outputs=email,phone
// HubSpot's documented sample, with the checklist applied: no findings.
const hubspot = require('@hubspot/api-client');

exports.main = async (event, callback) => {
  const hubspotClient = new hubspot.Client({ accessToken: process.env.SECRET_NAME });
  let phone;
  try {
    const ApiResponse = await hubspotClient.crm.contacts.basicApi.getById(event.object.objectId, ['phone']);
    phone = ApiResponse.properties.phone;
  } catch (err) {
    console.error(err);
    // We will automatically retry when the code fails because of a rate limiting error from the HubSpot API.
    throw err;
  }
  const email = event.inputFields['email'] || '';
  callback({
    outputFields: {
      email: email.toLowerCase(),
      phone: phone,
    },
  });
};
