// spoke-lint: inputs=email
exports.main = async (event, callback) => {
  const email = event.inputFields.email;
  if (!email) {
    return; // want: callback-never-called
  }
  if (email.endsWith('@example.com')) {
    callback({ outputFields: { internal: true } });
  }
  callback({ outputFields: { internal: false } }); // want: callback-twice
};
