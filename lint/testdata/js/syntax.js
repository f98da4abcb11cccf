exports.main = async (event, callback) => {
  const x = ; // want: syntax-error
};
