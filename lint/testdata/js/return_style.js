// Node 24 style: return {outputFields}, no callback parameter.
exports.main = async (event) => {
  const n = Number(event.object.objectId);
  return { outputFields: { even: n % 2 === 0 } };
};
