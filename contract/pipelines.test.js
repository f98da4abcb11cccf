'use strict';
// Pipelines and stages of deals and tickets (CRM v3 pipelines API), and
// deals checked against them: the stage must be in the deal's pipeline,
// and the stage's probability is computed onto the deal.

const assert = require('node:assert/strict');
const { describe, it, client, uniq, rejects, assertDate } = require('./support/spoke');

const hs = client();
const pipelines = hs.crm.pipelines.pipelinesApi;
const stages = hs.crm.pipelines.pipelineStagesApi;

function dealPipelineInput(label) {
  return {
    label,
    displayOrder: 5,
    stages: [
      { label: 'Open', displayOrder: 0, metadata: { probability: 0.3 } },
      { label: 'Won', displayOrder: 1, metadata: { probability: 1.0 } },
    ],
  };
}

describe('pipelines', () => {
  it('every account has the default deal and ticket pipelines', async () => {
    const deals = await pipelines.getAll('deals');
    const def = deals.results.find((p) => p.id === 'default');
    assert.ok(def, 'the default deal pipeline');
    const byId = Object.fromEntries(def.stages.map((s) => [s.id, s]));
    for (const [id, p] of Object.entries({ appointmentscheduled: 0.2, qualifiedtobuy: 0.4, presentationscheduled: 0.6, decisionmakerboughtin: 0.8, contractsent: 0.9, closedwon: 1, closedlost: 0 })) {
      assert.ok(byId[id], `stage ${id}`);
      assert.equal(Number(byId[id].metadata.probability), p, `${id} probability`);
    }
    assert.equal(byId.closedwon.metadata.isClosed, 'true');
    assert.equal(byId.contractsent.metadata.isClosed, 'false');
    assertDate(def.createdAt, 'createdAt');

    const tickets = await pipelines.getById('tickets', '0');
    assert.deepEqual(tickets.stages.map((s) => s.id), ['1', '2', '3', '4']);
    assert.equal(tickets.stages[3].metadata.ticketState, 'CLOSED');
    assert.equal(tickets.stages[0].metadata.ticketState, 'OPEN');
  });

  it('create, update, stages and archive', async () => {
    const p = await pipelines.create('deals', dealPipelineInput(uniq('Pipe ')));
    assert.ok(p.id);
    assert.equal(p.stages.length, 2);
    assert.equal(p.archived, false);
    assertDate(p.updatedAt, 'updatedAt');

    const label = uniq('Renamed ');
    const up = await pipelines.update('deals', p.id, { label });
    assert.equal(up.label, label);
    assert.equal((await pipelines.getById('deals', p.id)).label, label);

    const st = await stages.create('deals', p.id, { label: 'Lost', displayOrder: 2, metadata: { probability: 0 } });
    assert.equal(st.metadata.isClosed, 'true');
    assert.equal((await stages.getAll('deals', p.id)).results.length, 3);
    const st2 = await stages.update('deals', p.id, st.id, { label: 'Lost for good', metadata: { probability: '0.0' } });
    assert.equal(st2.label, 'Lost for good');
    assert.equal((await stages.getById('deals', p.id, st.id)).label, 'Lost for good');
    await stages.archive('deals', p.id, st.id);
    await rejects(stages.getById('deals', p.id, st.id), 404, 'archived stage');

    await pipelines.archive('deals', p.id);
    await rejects(pipelines.getById('deals', p.id), 404, 'archived pipeline');
    assert.ok(!(await pipelines.getAll('deals')).results.some((x) => x.id === p.id));
  });

  it('invalid inputs are 400s, unknown ids 404s', async () => {
    await rejects(pipelines.create('deals', { label: uniq('P '), displayOrder: 0, stages: [{ label: 'A', displayOrder: 0, metadata: {} }] }), 400, 'deal stage without probability');
    await rejects(pipelines.getById('deals', 'no-such-pipeline'), 404, 'unknown pipeline');
    await rejects(pipelines.getAll('contacts'), 400, 'contacts have no pipelines');
  });

  it('validateReferencesBeforeDelete refuses to delete a pipeline in use', async () => {
    const p = await pipelines.create('deals', dealPipelineInput(uniq('Used ')));
    await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('d'), pipeline: p.id, dealstage: p.stages[0].id }, associations: [] });
    const body = await rejects(pipelines.archive('deals', p.id, true, true), 400, 'pipeline in use');
    assert.equal(body.category, 'VALIDATION_ERROR');
    await pipelines.archive('deals', p.id);
  });
});

describe('deals in pipelines', () => {
  it('the stage must be in the deal’s pipeline, the default one when none is given', async () => {
    const p = await pipelines.create('deals', dealPipelineInput(uniq('Other ')));
    const body = await rejects(hs.crm.deals.basicApi.create({ properties: { dealname: uniq('d'), dealstage: p.stages[0].id }, associations: [] }), 400, 'stage of another pipeline');
    assert.equal(body.category, 'VALIDATION_ERROR');
    assert.match(body.message, /dealstage/);

    const d = await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('d'), dealstage: 'appointmentscheduled' }, associations: [] });
    const got = await hs.crm.deals.basicApi.getById(d.id, ['pipeline', 'dealstage', 'hs_deal_stage_probability', 'hs_is_closed']);
    assert.equal(got.properties.pipeline, 'default');
    assert.equal(Number(got.properties.hs_deal_stage_probability), 0.2);
    assert.equal(got.properties.hs_is_closed, 'false');
  });

  it('entering a stage computes its probability, closed flags and close date', async () => {
    const p = await pipelines.create('deals', dealPipelineInput(uniq('Won ')));
    const d = await hs.crm.deals.basicApi.create({ properties: { dealname: uniq('d'), pipeline: p.id, dealstage: p.stages[0].id }, associations: [] });
    await hs.crm.deals.basicApi.update(d.id, { properties: { dealstage: p.stages[1].id } });
    const got = await hs.crm.deals.basicApi.getById(d.id, ['hs_deal_stage_probability', 'hs_is_closed', 'hs_is_closed_won', 'closedate']);
    assert.equal(Number(got.properties.hs_deal_stage_probability), 1);
    assert.equal(got.properties.hs_is_closed, 'true');
    assert.equal(got.properties.hs_is_closed_won, 'true');
    assert.ok(got.properties.closedate, 'a close date is set when the deal closes');
    await rejects(hs.crm.deals.basicApi.update(d.id, { properties: { hs_deal_stage_probability: '0.5' } }), 400, 'computed value written');
  });
});
