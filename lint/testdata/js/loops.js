const axios = require('axios');
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForever() {
  while (true) { // want: unbounded-loop
    await sleep(1000);
  }
}

async function pollUntilReady(url) {
  while (true) { // want: unbounded-loop
    const res = await axios.get(url);
    if (res.data.ready) return res.data;
    await sleep(2000);
  }
}

async function pollWithLimit(url) {
  let attempts = 0;
  while (true) {
    const res = await axios.get(url);
    if (res.data.ready) return res.data;
    if (++attempts >= 3) throw new Error('not ready after 3 attempts');
    await sleep(2000);
  }
}

exports.main = async (event) => {
  try {
    await sleep(30000); // want: sleep-too-long
    for (let i = 0; i < 10; i++) {
      await sleep(5000); // want: sleep-too-long
    }
    await new Promise((r) => setTimeout(r, 500));
    await waitForever();
    await pollUntilReady('https://api.example.com/job');
    await pollWithLimit('https://api.example.com/job');
  } catch (e) {
    throw e;
  }
  return { outputFields: {} };
};
