// A custom code action, exactly as HubSpot runs it: `event.inputFields`
// holds the inputs declared in flow.yaml, and the outputs go back through
// callback({outputFields}) (or `return {outputFields}`).
//
// Secrets selected for the action are in process.env. To read or write the
// CRM, use HubSpot's client; under Spoke it reaches Spoke's API:
//
//   const hubspot = require('@hubspot/api-client');
//   const client = new hubspot.Client({ accessToken: process.env.HUBSPOT_TOKEN });
//   await client.crm.contacts.basicApi.update(String(event.object.objectId),
//     { properties: { lifecyclestage: 'lead' } });
//
// Run the cases in score.test.yaml with `spoke test`.
exports.main = async (event, callback) => {
  const email = String(event.inputFields.email || '').toLowerCase();
  const title = String(event.inputFields.jobtitle || '').toLowerCase();

  let score = 10;
  if (email && !/@(gmail|yahoo|hotmail|outlook)\./.test(email)) score += 40; // a work address
  if (/(founder|chief|director|head|vp)/.test(title)) score += 50;           // a decision maker

  const grade = score >= 80 ? 'A' : score >= 40 ? 'B' : 'C';
  console.log(`scored ${email || '(no email)'}: ${score} (${grade})`);
  callback({ outputFields: { score, grade } });
};
