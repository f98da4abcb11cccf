exports.main = async (event, callback) => { // want: callback-never-called
  const id = event.object.objectId;
  console.log('processing', id);
};
