exports.main = async (event, callback) => {
  const ids = [event.object.objectId];
  for (const id of ids) {
    callback({ outputFields: { id } }); // want: callback-twice
  }
}; // want: callback-never-called
