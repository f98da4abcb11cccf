const axios = require('axios');
const ALLOWED = ['hooks.example.com'];

exports.main = async (event) => {
  const site = event.inputFields.website || '';
  const id = event.inputFields.external_id || '';
  const hook = event.inputFields.hook_url || '';
  try {
    await axios.get(`https://${site}/api/status`); // want: ssrf-url-from-input
    await axios.get('https://' + site + '/about'); // want: ssrf-url-from-input
    await fetch(event.inputFields.callback_url); // want: ssrf-url-from-input
    await axios({ method: 'post', url: `${site}/x` }); // want: ssrf-url-from-input
    await axios.get(`https://api.example.com/records/${id}`);
    await axios.get('https://api.example.com/records/' + encodeURIComponent(id));
    const url = `https://api.example.com/search?q=${site}`;
    await axios.get(url);
    if (!ALLOWED.includes(new URL(hook).hostname)) throw new Error('hook host not allowed');
    await axios.post(hook, { id });
  } catch (e) {
    throw e;
  }
  return { outputFields: {} };
};
