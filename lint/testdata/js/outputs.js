// spoke-lint: outputs=tier,score,owner_email
exports.main = async (event, callback) => { // want: output-unreturned
  const score = Number(event.inputFields.score || 0);
  let tier = 'C';
  if (score > 80) tier = 'A';
  else if (score > 50) tier = 'B';
  callback({
    outputFields: {
      tier,
      score: score,
      ownerEmail: '', // want: output-undeclared
    },
  });
};
