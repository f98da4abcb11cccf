// spoke-lint: outputs=a,b
// Outputs built at run time cannot be read statically: no finding.
exports.main = async (event) => {
  const out = {};
  for (const k of ['a', 'b']) out[k] = String(event.object.objectId) + k;
  return { outputFields: out };
};
