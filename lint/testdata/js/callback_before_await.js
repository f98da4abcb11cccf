const hubspot = require('@hubspot/api-client');

exports.main = async (event, callback) => {
  const client = new hubspot.Client({ accessToken: process.env.HS_TOKEN });
  callback({ outputFields: { done: true } });
  try {
    await client.crm.contacts.basicApi.update(event.object.objectId, { properties: { lifecyclestage: 'lead' } }); // want: callback-before-await
  } catch (err) {
    throw err;
  }
};
