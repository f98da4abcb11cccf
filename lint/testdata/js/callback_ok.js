// Every path calls callback exactly once: no finding.
const axios = require('axios');

exports.main = async (event, callback) => {
  const email = event.inputFields.email;
  if (!email) {
    callback({ outputFields: { status: 'skipped' } });
    return;
  }
  let data;
  try {
    const res = await axios.get('https://api.example.com/lookup', { params: { email } });
    data = res.data;
    callback({ outputFields: { status: 'ok', company: data.company } });
  } catch (err) {
    if (err.response && err.response.status === 429) throw err;
    callback({ outputFields: { status: 'error' } });
  }
};
