'use strict';
// The error envelope, auth, path normalisation and bad-input handling
// (reference §0, §2.8; issue 2 item 7). Never a 5xx for bad input.

const assert = require('node:assert/strict');
const http = require('node:http');
const { describe, it, hubspot, SPOKE_URL, SPOKE_TOKEN, client, email, uniq, rejects, assertEnvelope, raw, assertJSON } = require('./support/spoke');

const hs = client();

describe('error envelope', { concurrency: 1 }, () => {
  it('ApiException.code is the HTTP status and body is the envelope (404, 409, 400)', async () => {
    let err;
    try {
      await hs.crm.contacts.basicApi.getById('987654321092');
    } catch (e) {
      err = e;
    }
    assert.ok(err && err.constructor && err.constructor.name === 'ApiException', `ApiException expected, got ${err && err.stack}`);
    assert.equal(err.code, 404);
    assertEnvelope(err.body, '404');
    assert.equal(err.body.category, 'OBJECT_NOT_FOUND');

    const c = await hs.crm.contacts.basicApi.create({ properties: { email: email('env') } });
    const b409 = await rejects(hs.crm.contacts.basicApi.create({ properties: { email: c.properties.email } }), 409, '409');
    assert.equal(b409.category, 'CONFLICT');

    const b400 = await rejects(hs.crm.contacts.basicApi.create({ properties: { email: email('env'), [uniq('nope_')]: 'x' } }), 400, '400');
    assert.equal(b400.category, 'VALIDATION_ERROR');
  });

  it('every correlationId is distinct', async () => {
    const a = await rejects(hs.crm.contacts.basicApi.getById('987654321091'), 404, 'a');
    const b = await rejects(hs.crm.contacts.basicApi.getById('987654321091'), 404, 'b');
    assert.notEqual(a.correlationId, b.correlationId);
  });

  it('Content-Type: application/json on success and on errors', async () => {
    const c = await hs.crm.contacts.basicApi.create({ properties: { email: email('ct') } });
    const ok = await raw('GET', `/crm/v3/objects/contacts/${c.id}`);
    assert.equal(ok.res.status, 200);
    assertJSON(ok.res, 'GET 200');
    const created = await raw('POST', '/crm/v3/objects/contacts', { body: { properties: { email: email('ct') } } });
    assert.equal(created.res.status, 201);
    assertJSON(created.res, 'POST 201');
    const missing = await raw('GET', '/crm/v3/objects/contacts/987654321090');
    assert.equal(missing.res.status, 404);
    assertJSON(missing.res, 'GET 404');
    assertEnvelope(missing.json, 'raw 404');
    const unauth = await raw('GET', '/crm/v3/objects/contacts', { token: '' });
    assert.equal(unauth.res.status, 401);
    assertJSON(unauth.res, '401');
    assertEnvelope(unauth.json, 'raw 401');
  });

  it('an unknown route answers a JSON 404 envelope', async () => {
    const r = await raw('GET', `/crm/v3/${uniq('nothing')}/here`);
    assert.equal(r.res.status, 404, r.text);
    assertJSON(r.res, 'unknown route');
    assertEnvelope(r.json, 'unknown route');
  });
});

describe('authentication', { concurrency: 1 }, () => {
  it('no token → 401 INVALID_AUTHENTICATION', async () => {
    const anon = new hubspot.Client({ basePath: SPOKE_URL });
    const body = await rejects(anon.crm.contacts.basicApi.getPage(1), 401, 'no token');
    assert.equal(body.category, 'INVALID_AUTHENTICATION');
  });

  it('a wrong token → 401 INVALID_AUTHENTICATION on reads and writes', async () => {
    const bad = new hubspot.Client({ accessToken: `${SPOKE_TOKEN}x`, basePath: SPOKE_URL });
    let body = await rejects(bad.crm.contacts.basicApi.getPage(1), 401, 'bad token read');
    assert.equal(body.category, 'INVALID_AUTHENTICATION');
    const addr = email('bad');
    body = await rejects(bad.crm.contacts.basicApi.create({ properties: { email: addr } }), 401, 'bad token write');
    assert.equal(body.category, 'INVALID_AUTHENTICATION');
    await rejects(hs.crm.contacts.basicApi.getById(addr, undefined, undefined, undefined, false, 'email'), 404, 'unauthenticated write must not happen');
    body = await rejects(bad.crm.properties.coreApi.getAll('contacts'), 401, 'bad token properties');
    body = await rejects(bad.crm.associations.v4.basicApi.getPage('contacts', '1', 'companies'), 401, 'bad token associations');
  });

  it('a non-Bearer Authorization header → 401', async () => {
    const r = await raw('GET', '/crm/v3/objects/contacts?limit=1', { token: '', headers: { Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
    assert.equal(r.res.status, 401, r.text);
    assertEnvelope(r.json, 'basic auth');
  });
});

describe('paths', { concurrency: 1 }, () => {
  it('basePath with a trailing slash (//crm/...) works for typed calls, including POST', async () => {
    const slashy = new hubspot.Client({ accessToken: SPOKE_TOKEN, basePath: `${SPOKE_URL}/` });
    const addr = email('slash');
    const c = await slashy.crm.contacts.basicApi.create({ properties: { email: addr } });
    assert.equal(c.properties.email, addr);
    const got = await slashy.crm.contacts.basicApi.getById(c.id, ['email']);
    assert.equal(got.properties.email, addr);
    const res = await slashy.crm.contacts.searchApi.doSearch({ filterGroups: [{ filters: [{ propertyName: 'email', operator: 'EQ', value: addr }] }] });
    assert.equal(res.total, 1);
  });

  it('apiRequest with a trailing-slash basePath works (no redirect)', async () => {
    const slashy = new hubspot.Client({ accessToken: SPOKE_TOKEN, basePath: `${SPOKE_URL}/` });
    const addr = email('apireq');
    const post = await slashy.apiRequest({ method: 'POST', path: '/crm/v3/objects/contacts', body: { properties: { email: addr } } });
    assert.equal(post.status, 201, await post.clone().text());
    const created = await post.json();
    const get = await slashy.apiRequest({ method: 'GET', path: `/crm/v3/objects/contacts/${created.id}`, qs: { properties: 'email' } });
    assert.equal(get.status, 200);
    assert.equal((await get.json()).properties.email, addr);
    const patch = await slashy.apiRequest({ method: 'PATCH', path: `/crm/v3/objects/contacts/${created.id}`, body: { properties: { firstname: 'slash' } } });
    assert.equal(patch.status, 200);
    const del = await slashy.apiRequest({ method: 'DELETE', path: `/crm/v3/objects/contacts/${created.id}` });
    assert.equal(del.status, 204);
  });

  it('duplicate slashes anywhere are collapsed, not redirected', async () => {
    const r = await raw('POST', '//crm//v3/objects//contacts', { body: { properties: { email: email('dbl') } } });
    assert.equal(r.res.status, 201, `${r.res.status} ${r.text}`);
  });

  it('apiRequest on the plain basePath; it does not throw on 4xx', async () => {
    const res = await hs.apiRequest({ method: 'GET', path: '/crm/v3/objects/contacts/987654321089' });
    assert.equal(res.status, 404);
    assertEnvelope(await res.json(), 'apiRequest 404');
  });
});

describe('bad input is a 4xx, never a 5xx', { concurrency: 1 }, () => {
  it('malformed JSON → 400 JSON envelope', async () => {
    const r = await raw('POST', '/crm/v3/objects/contacts', { body: '{"properties": {"email": "x@y.z",' });
    assert.equal(r.res.status, 400, r.text);
    assertJSON(r.res, 'malformed JSON');
    assertEnvelope(r.json, 'malformed JSON');
  });

  it('malformed JSON on every body-taking endpoint → 400', async () => {
    const paths = [
      ['POST', '/crm/v3/objects/contacts/search'],
      ['POST', '/crm/v3/objects/contacts/batch/create'],
      ['POST', '/crm/v3/objects/contacts/batch/read'],
      ['POST', '/crm/v3/objects/contacts/batch/update'],
      ['POST', '/crm/v3/objects/contacts/batch/upsert'],
      ['POST', '/crm/v3/objects/contacts/batch/archive'],
      ['POST', '/crm/v3/objects/companies'],
      ['POST', '/crm/v3/properties/contacts'],
      ['POST', '/crm/v3/properties/contacts/groups'],
      ['POST', '/crm/v4/associations/contacts/companies/batch/read'],
    ];
    for (const [m, p] of paths) {
      const r = await raw(m, p, { body: '{"inputs": [' });
      assert.equal(r.res.status, 400, `${m} ${p}: ${r.res.status} ${r.text}`);
      assertEnvelope(r.json, `${m} ${p}`);
    }
  });

  it('wrongly typed JSON → 400', async () => {
    for (const body of ['[]', '"x"', '{"properties": "x"}', '{"properties": {"email": {"a": 1}}}', '{"properties": {"email": ["a"]}}']) {
      const r = await raw('POST', '/crm/v3/objects/contacts', { body });
      assert.equal(r.res.status, 400, `${body}: ${r.res.status} ${r.text}`);
      assertEnvelope(r.json, body);
    }
    const s = await raw('POST', '/crm/v3/objects/contacts/search', { body: '{"filterGroups": "x"}' });
    assert.equal(s.res.status, 400, s.text);
    const lim = await raw('GET', '/crm/v3/objects/contacts?limit=abc');
    assert.ok(lim.res.status < 500, `limit=abc: ${lim.res.status} ${lim.text}`);
  });

  it('an empty body where one is required → 400', async () => {
    const r = await raw('POST', '/crm/v3/objects/contacts/batch/read', { body: '', headers: { 'Content-Type': 'application/json' } });
    assert.equal(r.res.status, 400, r.text);
    assertEnvelope(r.json, 'empty body');
  });

  it('an unsupported method answers a JSON 4xx envelope (not a plain-text 405)', async () => {
    const r = await raw('PUT', '/crm/v3/objects/contacts', { body: { properties: {} } });
    assert.ok(r.res.status >= 400 && r.res.status < 500, `${r.res.status} ${r.text}`);
    assertJSON(r.res, 'unsupported method');
    assertEnvelope(r.json, 'unsupported method');
  });

  it('an unknown object type on search and batch → 400 or 404 naming it', async () => {
    const obj = uniq('nosuchobject');
    for (const p of [`/crm/v3/objects/${obj}/search`, `/crm/v3/objects/${obj}/batch/read`, `/crm/v3/objects/${obj}`]) {
      const r = await raw('POST', p, { body: { inputs: [], properties: {} } });
      assert.ok(r.res.status === 400 || r.res.status === 404, `${p}: ${r.res.status} ${r.text}`);
      assertEnvelope(r.json, p);
      assert.ok(r.json.message.includes(obj), `${p}: message should name ${obj}: ${r.json.message}`);
    }
  });

  it('odd query and paging values never cause a 5xx', async () => {
    const gets = [
      '/crm/v3/objects/contacts?limit=-1',
      '/crm/v3/objects/contacts?limit=0',
      '/crm/v3/objects/contacts?limit=100000',
      '/crm/v3/objects/contacts?after=zzz',
      '/crm/v3/objects/contacts?after=-5',
      '/crm/v3/objects/contacts?archived=maybe',
      '/crm/v3/objects/contacts/abc',
      '/crm/v3/objects/contacts/-1',
      '/crm/v3/objects/contacts/99999999999999999999999999',
      '/crm/v3/objects/contacts/x?idProperty=no_such_prop',
      '/crm/v3/objects/contacts/1?idProperty=firstname',
      '/crm/v4/objects/contacts/abc/associations/companies',
    ];
    for (const p of gets) {
      const r = await raw('GET', p);
      assert.ok(r.res.status < 500, `GET ${p}: ${r.res.status} ${r.text}`);
      assertJSON(r.res, p);
      if (r.res.status >= 400) assertEnvelope(r.json, p);
    }
    const searches = [{ limit: -1 }, { after: 'abc' }, { after: -3 }, { sorts: [{}] }, { sorts: [42] }, { filterGroups: [{}] }, { filterGroups: [{ filters: [{}] }] }, { query: 5 }];
    for (const b of searches) {
      const r = await raw('POST', '/crm/v3/objects/contacts/search', { body: b });
      assert.ok(r.res.status < 500, `search ${JSON.stringify(b)}: ${r.res.status} ${r.text}`);
      if (r.res.status >= 400) assertEnvelope(r.json, JSON.stringify(b));
    }
    const tooMany = Array.from({ length: 101 }, (_, i) => ({ properties: { email: email(`many${i}`) } }));
    for (const [p, b] of [
      ['/crm/v3/objects/contacts/batch/create', { inputs: tooMany }],
      ['/crm/v3/objects/contacts/batch/create', { inputs: [] }],
      ['/crm/v3/objects/contacts/batch/read', { inputs: [{}] }],
      ['/crm/v3/objects/contacts/batch/update', { inputs: [{ properties: { firstname: 'x' } }] }],
      ['/crm/v3/objects/contacts/batch/upsert', { inputs: [{ id: 'x@y.example', properties: {} }] }],
      ['/crm/v3/objects/contacts/batch/archive', { inputs: [{ id: 'abc' }] }],
      ['/crm/v4/associations/contacts/companies/batch/read', { inputs: [{ id: 'abc' }] }],
    ]) {
      const r = await raw('POST', p, { body: b });
      assert.ok(r.res.status < 500, `${p} ${JSON.stringify(b).slice(0, 80)}: ${r.res.status} ${r.text}`);
    }
  });

  it('an oversized body → 413', async () => {
    const { status, text } = await sendHuge('/crm/v3/objects/contacts', 64 << 20);
    assert.equal(status, 413, `oversized body: ${status} ${text.slice(0, 300)}`);
    let body;
    try {
      body = JSON.parse(text);
    } catch {
      assert.fail(`413 body must be JSON: ${text.slice(0, 300)}`);
    }
    assertEnvelope(body, '413');
  });
});

// sendHuge streams a JSON body of `size` bytes (declared in Content-Length)
// and stops writing as soon as the server answers; the server may close the
// connection early, which is fine once a response has arrived.
function sendHuge(path, size) {
  return new Promise((resolve, reject) => {
    const u = new URL(SPOKE_URL + path);
    const head = Buffer.from('{"properties":{"email":"huge@contract.example","firstname":"');
    const tail = Buffer.from('"}}');
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const req = http.request({
      method: 'POST',
      host: u.hostname,
      port: u.port,
      path: u.pathname,
      agent: false,
      headers: { Authorization: `Bearer ${SPOKE_TOKEN}`, 'Content-Type': 'application/json', 'Content-Length': size, Connection: 'close' },
    });
    let answered = false;
    req.on('response', (res) => {
      answered = true;
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, text }));
      res.on('error', () => resolve({ status: res.statusCode, text }));
    });
    req.on('error', (e) => {
      if (!answered) reject(new Error(`oversized body: connection failed before any response: ${e.message}`));
    });
    let sent = 0;
    const write = () => {
      if (answered) return;
      if (sent === 0) {
        req.write(head);
        sent += head.length;
      }
      while (!answered && sent < size - tail.length) {
        const n = Math.min(chunk.length, size - tail.length - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
          req.once('drain', write);
          return;
        }
      }
      if (!answered && sent >= size - tail.length) req.end(tail);
    };
    write();
  });
}

describe('scopes', { concurrency: 1 }, () => {
  // TestContract creates this token with `spoke token create --scopes crm.objects.contacts.read`.
  const readOnly = process.env.SPOKE_READONLY_TOKEN;
  it('a token without the write scope → 403 MISSING_SCOPES on writes, 200 on reads', { skip: !readOnly && 'SPOKE_READONLY_TOKEN not set' }, async () => {
    const ro = new hubspot.Client({ accessToken: readOnly, basePath: SPOKE_URL });
    const page = await ro.crm.contacts.basicApi.getPage(1);
    assert.ok(Array.isArray(page.results));
    const body = await rejects(ro.crm.contacts.basicApi.create({ properties: { email: email('ro') } }), 403, 'missing write scope');
    assert.equal(body.category, 'MISSING_SCOPES');
    const other = await rejects(ro.crm.companies.basicApi.getPage(1), 403, 'missing companies read scope');
    assert.equal(other.category, 'MISSING_SCOPES');
  });
});
