exports.main = async (event) => {
  console.log(process.env.HUBSPOT_TOKEN); // want: secret-in-log
  const token = process.env.OPENAI_KEY;
  const headers = { Authorization: `Bearer ${token}` };
  console.log('calling with ' + token); // want: secret-in-log
  console.info('headers', JSON.stringify(headers)); // want: secret-in-log
  console.log('env', process.env); // want: secret-in-log
  console.log('token set:', Boolean(token));
  console.log('token present', !!process.env.OPENAI_KEY, typeof token);
  console.log('token length', token.length);
  console.log(token ? 'configured' : 'missing');
  console.log('object', event.object.objectId);
  return { outputFields: {} };
};
