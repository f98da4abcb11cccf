const axios = require('axios');
const hubspot = require('@hubspot/api-client');

const client = new hubspot.Client({ accessToken: process.env.HS_TOKEN });
const http = axios.create({ baseURL: 'https://api.example.com' });

async function loadCompany(id) {
  const res = await client.crm.companies.basicApi.getById(id, ['name']);
  return res.properties.name;
}

async function orphan(id) {
  return client.crm.deals.basicApi.getById(id); // want: unhandled-call
}

exports.main = async (event) => {
  const res = await axios.get('https://api.example.com/score'); // want: unhandled-call
  const r2 = await fetch('https://api.example.com/other'); // want: unhandled-call
  let name = '';
  try {
    name = await loadCompany(event.object.objectId);
    await http.post('/events', { id: event.object.objectId });
  } catch (err) { // want: rate-limit-swallowed
    console.error('failed', err.message);
  }
  try {
    await client.crm.contacts.basicApi.update(event.object.objectId, { properties: { company: name } });
  } catch (err) {
    if (err.code === 429) throw err;
    console.error(err);
  }
  try {
    await axios.post('https://api.example.com/log', { name });
  } catch (err) {
    console.error(err);
    throw err;
  }
  await axios.get('https://api.example.com/x').catch(() => null); // want: rate-limit-swallowed
  await axios.get('https://api.example.com/y').then((r) => r.data).catch((e) => { throw e; });
  client.crm.contacts.basicApi.archive(event.object.objectId); // want: unhandled-call unawaited-call
  return { outputFields: { name, score: res.data.score, other: r2.status } };
};
