const axios = require('axios');
const hubspot = require('@hubspot/api-client');

const OPENAI_KEY = 'sk-proj-abcdefghijklmnopqrstuvwx1234'; // want: hardcoded-credential
const apiKey = 'c0ffee-5up3r-s3cr3t'; // want: hardcoded-credential
const SECRET_NAME = 'PRIVATE_APP_TOKEN';
const placeholderToken = 'YOUR_TOKEN_HERE';
const tokenUrl = 'https://api.example.com/oauth/token';

exports.main = async (event) => {
  const client = new hubspot.Client({ accessToken: 'pat-na1-11111111-2222-3333-4444-555555555555' }); // want: hardcoded-credential
  const fromEnv = new hubspot.Client({ accessToken: process.env[SECRET_NAME] });
  try {
    await axios.post(tokenUrl, {}, { headers: { Authorization: 'Bearer abcdefghijklmnopqrstuvwxyz0123' } }); // want: hardcoded-credential
    await axios.post(tokenUrl, {}, { headers: { Authorization: `Bearer ${process.env.OPENAI_KEY}` } });
    await axios.get('https://bob:hunter22@internal.example.com/export'); // want: hardcoded-credential
  } catch (e) {
    throw e;
  }
  const password = event.inputFields.password || '';
  return { outputFields: { ok: Boolean(client && fromEnv && placeholderToken && password && OPENAI_KEY && apiKey) } };
};
