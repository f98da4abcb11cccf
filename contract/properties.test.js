'use strict';
// Properties API (reference §3): list, get, create 201, update, archive 204,
// duplicate 409, property groups; and typed values validated on every write
// with a 400 VALIDATION_ERROR naming the bad field.

const assert = require('node:assert/strict');
const { describe, it, before, client, uniq, email, rejects, short, assertDate, sameInstant } = require('./support/spoke');

const hs = client();
const core = hs.crm.properties.coreApi;
const groups = hs.crm.properties.groupsApi;
const contacts = hs.crm.contacts;

const group = uniq('ct_group_');
const P = {
  text: uniq('ct_text_'),
  score: uniq('ct_score_'),
  tier: uniq('ct_tier_'),
  flag: uniq('ct_flag_'),
  day: uniq('ct_day_'),
  when: uniq('ct_when_'),
  phone: uniq('ct_phone_'),
  multi: uniq('ct_multi_'),
};

function assertProperty(p, what) {
  for (const k of ['name', 'label', 'type', 'fieldType', 'groupName']) {
    assert.equal(typeof p[k], 'string', `${what}: Property.${k} is a required string: ${short(p)}`);
  }
  assert.ok(Array.isArray(p.options), `${what}: Property.options is a required array: ${short(p)}`);
}

before(async () => {
  const g = await groups.createWithHttpInfo('contacts', { name: group, label: 'Contract tests', displayOrder: 1 });
  assert.equal(g.httpStatusCode, 201, 'group create');
  const defs = [
    { name: P.text, label: 'CT text', type: 'string', fieldType: 'text' },
    { name: P.score, label: 'CT score', type: 'number', fieldType: 'number' },
    {
      name: P.tier,
      label: 'CT tier',
      type: 'enumeration',
      fieldType: 'select',
      options: [
        { label: 'Gold', value: 'gold', hidden: false, displayOrder: 1 },
        { label: 'Silver', value: 'silver', hidden: false, displayOrder: 2 },
      ],
    },
    {
      name: P.flag,
      label: 'CT flag',
      type: 'bool',
      fieldType: 'booleancheckbox',
      options: [
        { label: 'Yes', value: 'true', hidden: false, displayOrder: 1 },
        { label: 'No', value: 'false', hidden: false, displayOrder: 2 },
      ],
    },
    { name: P.day, label: 'CT day', type: 'date', fieldType: 'date' },
    { name: P.when, label: 'CT when', type: 'datetime', fieldType: 'date' },
    { name: P.phone, label: 'CT phone', type: 'phone_number', fieldType: 'phonenumber' },
    {
      name: P.multi,
      label: 'CT multi',
      type: 'enumeration',
      fieldType: 'checkbox',
      options: ['a', 'b', 'c'].map((v, i) => ({ label: v.toUpperCase(), value: v, hidden: false, displayOrder: i })),
    },
  ];
  for (const d of defs) {
    const info = await core.createWithHttpInfo('contacts', { groupName: group, hasUniqueValue: false, ...d });
    assert.equal(info.httpStatusCode, 201, `create property ${d.name}`);
  }
});

describe('properties API', { concurrency: 1 }, () => {
  it('getAll lists the built-in and custom contact properties', async () => {
    const res = await core.getAll('contacts');
    assert.ok(Array.isArray(res.results));
    const byName = Object.fromEntries(res.results.map((p) => [p.name, p]));
    for (const n of ['email', 'firstname', 'lastname', 'phone', 'company', 'website', 'jobtitle', 'lifecyclestage', 'hs_lead_status', 'country', 'city', 'hs_object_id', 'createdate', 'lastmodifieddate']) {
      assert.ok(byName[n], `built-in contact property ${n} missing`);
    }
    assert.equal(byName.lifecyclestage.type, 'enumeration');
    assert.equal(byName.createdate.type, 'datetime');
    assert.equal(byName[P.score].type, 'number');
    for (const p of res.results) assertProperty(p, `getAll ${p.name}`);
  });

  it('built-in properties of companies, deals and tickets', async () => {
    const want = {
      companies: { name: 'string', domain: 'string', numberofemployees: 'number', annualrevenue: 'number', industry: null },
      deals: { dealname: 'string', amount: 'number', dealstage: null, pipeline: null, closedate: 'datetime' },
      tickets: { subject: 'string', content: 'string', hs_pipeline_stage: null, hs_ticket_priority: null },
    };
    for (const [obj, props] of Object.entries(want)) {
      const res = await core.getAll(obj);
      const byName = Object.fromEntries(res.results.map((p) => [p.name, p]));
      for (const [n, type] of Object.entries({ ...props, hs_object_id: null, createdate: 'datetime' })) {
        assert.ok(byName[n], `${obj}.${n} missing`);
        if (type) assert.equal(byName[n].type, type, `${obj}.${n} type`);
      }
    }
  });

  it('getByName', async () => {
    const p = await core.getByName('contacts', 'email');
    assert.equal(p.name, 'email');
    assertProperty(p, 'email');
    const t = await core.getByName('contacts', P.tier);
    assert.equal(t.type, 'enumeration');
    assert.equal(t.fieldType, 'select');
    assert.equal(t.groupName, group);
    assert.deepEqual(t.options.map((o) => o.value), ['gold', 'silver']);
  });

  it('getByName of an unknown property → 404 naming it', async () => {
    const name = uniq('no_such_prop_');
    const body = await rejects(core.getByName('contacts', name), [400, 404], 'unknown property');
    assert.ok(body.message.includes(name), `message should name ${name}: ${body.message}`);
  });

  it('create → 201 echoes the definition (enumeration with options)', async () => {
    const name = uniq('ct_food_');
    const info = await core.createWithHttpInfo('contacts', {
      name,
      label: 'Favorite Food',
      type: 'enumeration',
      fieldType: 'radio',
      groupName: group,
      options: [
        { label: 'Pizza', value: 'pizza', hidden: false, displayOrder: 1 },
        { label: 'Sushi', value: 'sushi', hidden: false, displayOrder: 2 },
      ],
      hasUniqueValue: false,
    });
    assert.equal(info.httpStatusCode, 201);
    const p = info.data;
    assertProperty(p, 'created');
    assert.equal(p.name, name);
    assert.equal(p.label, 'Favorite Food');
    assert.equal(p.type, 'enumeration');
    assert.equal(p.fieldType, 'radio');
    assert.equal(p.groupName, group);
    assert.deepEqual(p.options.map((o) => [o.label, o.value]), [['Pizza', 'pizza'], ['Sushi', 'sushi']]);
    if (p.createdAt !== undefined) assertDate(p.createdAt, 'createdAt');
  });

  it('create of an existing name → 409', async () => {
    await rejects(core.create('contacts', { name: P.text, label: 'again', type: 'string', fieldType: 'text', groupName: group }), 409, 'duplicate property');
    await rejects(core.create('contacts', { name: 'email', label: 'again', type: 'string', fieldType: 'text', groupName: group }), 409, 'duplicate of a built-in');
  });

  it('create with a bad type → 400', async () => {
    await rejects(
      core.create('contacts', { name: uniq('ct_bad_'), label: 'bad', type: 'colour', fieldType: 'text', groupName: group }),
      400,
      'bad property type',
    );
  });

  it('update → 200 (label, options)', async () => {
    const name = uniq('ct_upd_');
    await core.create('contacts', {
      name,
      label: 'Before',
      type: 'enumeration',
      fieldType: 'select',
      groupName: group,
      options: [{ label: 'A', value: 'a', hidden: false, displayOrder: 1 }],
    });
    const u = await core.update('contacts', name, {
      label: 'After',
      options: [
        { label: 'A', value: 'a', hidden: false, displayOrder: 1 },
        { label: 'B', value: 'b', hidden: false, displayOrder: 2 },
      ],
    });
    assert.equal(u.name, name);
    assert.equal(u.label, 'After');
    assert.deepEqual(u.options.map((o) => o.value), ['a', 'b']);
    const g = await core.getByName('contacts', name);
    assert.equal(g.label, 'After');
    // The new option is now a valid value.
    const c = await contacts.basicApi.create({ properties: { email: email('opt'), [name]: 'b' } });
    assert.equal(c.properties[name], 'b');
  });

  it('update of an unknown property → 404', async () => {
    await rejects(core.update('contacts', uniq('no_such_prop_'), { label: 'x' }), [400, 404], 'update unknown property');
  });

  it('archive → 204 (resolves undefined); then 404 and writes to it are rejected', async () => {
    const name = uniq('ct_gone_');
    await core.create('contacts', { name, label: 'Gone', type: 'string', fieldType: 'text', groupName: group });
    const info = await core.archiveWithHttpInfo('contacts', name);
    assert.equal(info.httpStatusCode, 204);
    assert.equal(info.data, undefined);
    await rejects(core.getByName('contacts', name), 404, 'archived property');
    const body = await rejects(contacts.basicApi.create({ properties: { email: email('gone'), [name]: 'x' } }), 400, 'write to archived property');
    assert.ok(body.message.includes(name), `message should name ${name}: ${body.message}`);
  });

  it('getAll with archived=true lists archived properties', async () => {
    const name = uniq('ct_arch_');
    await core.create('contacts', { name, label: 'Arch', type: 'string', fieldType: 'text', groupName: group });
    await core.archive('contacts', name);
    const live = await core.getAll('contacts');
    assert.ok(!live.results.some((p) => p.name === name), 'archived property must not be listed by default');
    const arch = await core.getAll('contacts', true);
    const hit = arch.results.find((p) => p.name === name);
    assert.ok(hit, 'archived=true lists the archived property');
    assert.equal(hit.archived, true);
  });

  it('an unknown object type → 400 or 404 naming it', async () => {
    const obj = uniq('nosuchobject');
    const body = await rejects(core.getAll(obj), [400, 404], 'unknown object type');
    assert.ok(body.message.includes(obj), `message should name ${obj}: ${body.message}`);
  });

  it('properties API works for companies, deals and tickets too', async () => {
    for (const obj of ['companies', 'deals', 'tickets']) {
      const name = uniq('ct_x_');
      const grp = await groups.create(obj, { name: uniq('ct_g_'), label: 'X group', displayOrder: 1 });
      const p = await core.create(obj, { name, label: 'X', type: 'number', fieldType: 'number', groupName: grp.name });
      assert.equal(p.name, name);
      const got = await core.getByName(obj, name);
      assert.equal(got.type, 'number');
      assert.equal(await core.archive(obj, name), undefined);
    }
  });
});

describe('property groups', { concurrency: 1 }, () => {
  it('create → 201, getByName, getAll, update, archive → 204', async () => {
    const name = uniq('ct_grp_');
    const info = await groups.createWithHttpInfo('contacts', { name, label: 'Group One', displayOrder: 3 });
    assert.equal(info.httpStatusCode, 201);
    assert.equal(info.data.name, name);
    assert.equal(info.data.label, 'Group One');

    const got = await groups.getByName('contacts', name);
    assert.equal(got.name, name);
    assert.equal(got.label, 'Group One');

    const all = await groups.getAll('contacts');
    assert.ok(all.results.some((g) => g.name === name), 'getAll lists the new group');
    assert.ok(all.results.some((g) => g.name === group));

    const upd = await groups.update('contacts', name, { label: 'Group Uno' });
    assert.equal(upd.name, name);
    assert.equal(upd.label, 'Group Uno');

    const del = await groups.archiveWithHttpInfo('contacts', name);
    assert.equal(del.httpStatusCode, 204);
    await rejects(groups.getByName('contacts', name), 404, 'archived group');
  });

  it('duplicate group → 409; unknown group → 404', async () => {
    await rejects(groups.create('contacts', { name: group, label: 'dup', displayOrder: 1 }), 409, 'duplicate group');
    await rejects(groups.getByName('contacts', uniq('no_such_group_')), 404, 'unknown group');
  });

  it('a property in an unknown group → 400', async () => {
    await rejects(
      core.create('contacts', { name: uniq('ct_orphan_'), label: 'x', type: 'string', fieldType: 'text', groupName: uniq('no_such_group_') }),
      [400, 404],
      'unknown groupName',
    );
  });
});

describe('typed values are validated on every write', { concurrency: 1 }, () => {
  async function badCreate(props, field, what) {
    const addr = email('v');
    const body = await rejects(contacts.basicApi.create({ properties: { email: addr, ...props } }), 400, what);
    assert.equal(body.category, 'VALIDATION_ERROR', `${what}: category`);
    assert.ok(body.message.includes(field), `${what}: message should name ${field}: ${body.message}`);
    // Nothing was written.
    await rejects(contacts.basicApi.getById(addr, undefined, undefined, undefined, false, 'email'), 404, `${what}: not written`);
    return body;
  }

  it('valid values of every type are accepted and read back', async () => {
    const c = await contacts.basicApi.create({
      properties: {
        email: email('ok'),
        [P.text]: 'hello',
        [P.score]: '42.5',
        [P.tier]: 'gold',
        [P.flag]: 'true',
        [P.day]: '2025-03-01',
        [P.when]: '2025-03-01T10:20:30.000Z',
      },
    });
    const got = await contacts.basicApi.getById(c.id, Object.values(P));
    assert.equal(got.properties[P.text], 'hello');
    assert.equal(Number(got.properties[P.score]), 42.5);
    assert.equal(got.properties[P.tier], 'gold');
    assert.equal(got.properties[P.flag], 'true');
    const day = got.properties[P.day];
    assert.ok(day === '2025-03-01' || Number(day) === Date.parse('2025-03-01T00:00:00Z'), `date value: ${day}`);
    const when = got.properties[P.when];
    const ms = Date.parse('2025-03-01T10:20:30.000Z');
    assert.ok(sameInstant(when, ms), `datetime value: ${when}`);
  });

  it('a datetime given as epoch ms is accepted', async () => {
    const ms = Date.parse('2024-05-06T07:08:09.000Z');
    const c = await contacts.basicApi.create({ properties: { email: email('ms'), [P.when]: String(ms) } });
    const got = await contacts.basicApi.getById(c.id, [P.when]);
    const v = got.properties[P.when];
    assert.ok(sameInstant(v, ms), `datetime value: ${v}`);
  });

  it('JSON numbers and booleans are accepted and stringified', async () => {
    const c = await contacts.basicApi.create({ properties: { email: email('js'), [P.score]: 7, [P.flag]: false } });
    const got = await contacts.basicApi.getById(c.id, [P.score, P.flag]);
    assert.equal(got.properties[P.score], '7');
    assert.equal(got.properties[P.flag], 'false');
  });

  it('a date property takes YYYY-MM-DD or midnight-UTC epoch ms; other instants → 400', async () => {
    const midnight = Date.parse('2025-04-05T00:00:00.000Z');
    const c = await contacts.basicApi.create({ properties: { email: email('d'), [P.day]: String(midnight) } });
    const got = await contacts.basicApi.getById(c.id, [P.day]);
    const v = got.properties[P.day];
    assert.ok(v === '2025-04-05' || Number(v) === midnight, `date value: ${v}`);
    // Reference §2.8: "1521225089103 is at 18:31:29.103 UTC, not midnight!" (INVALID_DATE).
    await badCreate({ [P.day]: '1521225089103' }, P.day, 'date not at midnight');
  });

  it('a phone_number property stores the value', async () => {
    const c = await contacts.basicApi.create({ properties: { email: email('ph'), [P.phone]: '+1 555 0199' } });
    const got = await contacts.basicApi.getById(c.id, [P.phone]);
    assert.equal(got.properties[P.phone], '+1 555 0199');
  });

  it('a multi-select (checkbox) enumeration takes ";"-joined options and rejects unknown ones', async () => {
    const c = await contacts.basicApi.create({ properties: { email: email('mu'), [P.multi]: 'a;c' } });
    const got = await contacts.basicApi.getById(c.id, [P.multi]);
    assert.deepEqual(got.properties[P.multi].split(';').sort(), ['a', 'c']);
    await badCreate({ [P.multi]: 'a;zzz' }, P.multi, 'multi with an unknown option');
  });

  it('"abc" in a number property → 400 VALIDATION_ERROR naming the field', async () => {
    await badCreate({ [P.score]: 'abc' }, P.score, 'number abc');
  });

  it('"abc" in a built-in number property (companies.numberofemployees) → 400', async () => {
    const body = await rejects(hs.crm.companies.basicApi.create({ properties: { name: uniq('co'), numberofemployees: 'abc' } }), 400, 'numberofemployees abc');
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.ok(body.message.includes('numberofemployees'), body.message);
  });

  it('an enumeration value not among the options → 400', async () => {
    await badCreate({ [P.tier]: 'platinum' }, P.tier, 'enumeration platinum');
  });

  it('a bool that is not true/false → 400', async () => {
    await badCreate({ [P.flag]: 'maybe' }, P.flag, 'bool maybe');
  });

  it('a date/datetime that is not a date → 400', async () => {
    await badCreate({ [P.day]: 'not-a-date' }, P.day, 'date');
    await badCreate({ [P.when]: 'yesterday' }, P.when, 'datetime');
  });

  it('an unknown property → 400 naming it', async () => {
    const name = uniq('no_such_prop_');
    const addr = email('v');
    const body = await rejects(contacts.basicApi.create({ properties: { email: addr, [name]: 'x' } }), 400, 'unknown property');
    assert.ok(body.message.includes(name), `message should name ${name}: ${body.message}`);
    await rejects(contacts.basicApi.getById(addr, undefined, undefined, undefined, false, 'email'), 404, 'unknown property: not written');
  });

  it('several bad fields are all named', async () => {
    const body = await badCreate({ [P.score]: 'abc', [P.tier]: 'platinum' }, P.score, 'two bad fields');
    assert.ok(body.message.includes(P.tier), `message should also name ${P.tier}: ${body.message}`);
  });

  it('validation applies on update (PATCH) and nothing is half-written', async () => {
    const c = await contacts.basicApi.create({ properties: { email: email('u'), [P.score]: '1', firstname: 'kept' } });
    const body = await rejects(contacts.basicApi.update(c.id, { properties: { firstname: 'changed', [P.score]: 'abc' } }), 400, 'update abc');
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.ok(body.message.includes(P.score), body.message);
    const got = await contacts.basicApi.getById(c.id, ['firstname', P.score]);
    assert.equal(got.properties.firstname, 'kept', 'a rejected PATCH must not write its other properties');
    assert.equal(got.properties[P.score], '1');

    await rejects(contacts.basicApi.update(c.id, { properties: { [uniq('no_such_prop_')]: 'x' } }), 400, 'update unknown property');
  });

  it('validation applies to batch update and upsert inputs', async () => {
    const c = await contacts.basicApi.create({ properties: { email: email('bu'), [P.score]: '1' } });
    const info = await contacts.batchApi.updateWithHttpInfo({ inputs: [{ id: c.id, properties: { [P.score]: 'abc' } }] }).catch((e) => e);
    if (info instanceof Error) {
      assert.equal(info.code, 400, `batch update with only bad inputs: 207 or 400, got ${info.code} ${short(info.body)}`);
    } else {
      assert.equal(info.httpStatusCode, 207, short(info.data));
      assert.equal(info.data.numErrors, 1);
    }
    const got = await contacts.basicApi.getById(c.id, [P.score]);
    assert.equal(got.properties[P.score], '1');

    const fresh = email('bu');
    const up = await contacts.batchApi.upsertWithHttpInfo({ inputs: [{ idProperty: 'email', id: fresh, properties: { [P.tier]: 'platinum' } }] }).catch((e) => e);
    if (up instanceof Error) assert.equal(up.code, 400, short(up.body));
    else assert.equal(up.httpStatusCode, 207, short(up.data));
    await rejects(contacts.basicApi.getById(fresh, undefined, undefined, undefined, false, 'email'), 404, 'bad upsert not written');
  });

  it('a built-in enumeration (lifecyclestage) accepts "lead" and rejects an unknown stage', async () => {
    const c = await contacts.basicApi.create({ properties: { email: email('lc'), lifecyclestage: 'lead' } });
    assert.equal(c.properties.lifecyclestage, 'lead');
    await badCreate({ lifecyclestage: uniq('stage') }, 'lifecyclestage', 'lifecyclestage');
  });

  it('an invalid email → 400 naming email', async () => {
    await rejects(contacts.basicApi.create({ properties: { email: 'example.lcom' } }), 400, 'invalid email');
  });
});
