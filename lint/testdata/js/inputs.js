// spoke-lint: inputs=email,firstname,company,score,country,phone
exports.main = async (event) => {
  const email = event.inputFields['email'];
  const domain = email.split('@')[1]; // want: unchecked-input
  const first = event.inputFields.firstname.trim(); // want: unchecked-input

  const company = event.inputFields.company;
  if (!company) {
    return { outputFields: { domain, first, company: '' } };
  }
  const upper = company.toUpperCase();

  const score = event.inputFields.score || '0';
  const parts = score.split('.');

  const { country = '' } = event.inputFields;
  const cc = country.slice(0, 2);

  const phone = event.inputFields.phone;
  const digits = phone?.replace(/\D/g, '');

  const inputs = event.inputFields;
  const city = inputs.city.toLowerCase(); // want: unchecked-input input-undeclared
  return { outputFields: { domain, first, company: upper, parts: parts.length, cc, digits, city } };
};
