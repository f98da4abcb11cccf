// flow.js draws a workflow from its automation v4 JSON (trigger on top,
// actions as boxes joined by arrows, branches side by side) and edits it:
// the trigger, every action type Spoke runs, order, deletion, on/off,
// saving through the API (validation errors shown on the action named, a
// stale revision offered for reload), enrollment with a progress bar, and
// the custom code action's editor and Test panel.
import { csrf, localizeTimes } from './app.js';

const root = document.getElementById('flow-editor');
const readonly = root.dataset.readonly === '1';
const props = JSON.parse(root.dataset.props || '[]');
const secrets = JSON.parse(root.dataset.secrets || '[]');
const objectType = root.dataset.objectType;
const flowId = root.dataset.flowId;
let flow = JSON.parse(root.dataset.flow);
flow.actions = flow.actions || [];
let selected = 'trigger';
let dirty = false;
let invalid = new Map(); // actionId → message of the last failed save
let lint = new Map(); // actionId → lint findings of the last save [{rule, severity, line, column, message}]
let editor = null; // the CodeMirror instance of the open custom code action

const canvas = document.getElementById('canvas');
const panel = document.getElementById('panel');
const notice = document.getElementById('notice');

const RUNTIMES = ['NODE20X', 'NODE24X', 'NODE16X', 'PYTHON39'];
const OUTPUT_TYPES = ['STRING', 'NUMBER', 'BOOL', 'ENUMERATION', 'DATE', 'DATETIME', 'PHONE_NUMBER'];
const OPERATORS = {
  STRING: ['IS_EQUAL_TO', 'IS_NOT_EQUAL_TO', 'CONTAINS', 'DOES_NOT_CONTAIN', 'STARTS_WITH', 'ENDS_WITH'],
  NUMBER: ['IS_EQUAL_TO', 'IS_NOT_EQUAL_TO', 'IS_GREATER_THAN', 'IS_GREATER_THAN_OR_EQUAL_TO', 'IS_LESS_THAN', 'IS_LESS_THAN_OR_EQUAL_TO'],
  BOOL: ['IS_EQUAL_TO', 'IS_NOT_EQUAL_TO'],
  ENUMERATION: ['IS_ANY_OF', 'IS_NONE_OF'],
  TIME_POINT: ['IS_AFTER', 'IS_BEFORE'],
};
const NODE_CODE = `exports.main = async (event, callback) => {
  // event.inputFields holds the input fields below; secrets are in process.env.
  callback({ outputFields: {} });
};
`;
const PYTHON_CODE = `def main(event):
    # event["inputFields"] holds the input fields below; secrets are in os.environ.
    return {"outputFields": {}}
`;

// h builds an element: h('div', {class: 'x', onclick: fn}, child, ...).
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function select(options, value, attrs = {}) {
  const s = h('select', attrs);
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value: v, selected: v === value }, label));
  }
  s.value = value ?? '';
  return s;
}

function field(label, control, hint) {
  return h('label', { class: 'field' }, h('span', {}, label), control, hint ? h('small', { class: 'hint' }, hint) : null);
}

function propOptions(empty = 'Choose a property') {
  return [['', empty], ...props.map((p) => [p.name, `${p.label} (${p.name})`])];
}

function propDef(name) { return props.find((p) => p.name === name); }

function say(text, kind = '') {
  notice.replaceChildren(h('p', { class: 'notice ' + kind }, text));
}

function changed() {
  dirty = true;
  document.getElementById('save').textContent = 'Save changes';
  draw();
}

// ---- the graph ----------------------------------------------------------

const byId = (id) => flow.actions.find((a) => a.actionId === id);
const isBranch = (a) => a.type === 'STATIC_BRANCH' || a.type === 'LIST_BRANCH';

// A slot is a place that points at an action: the start, an action's
// connection, or a branch arm. get() is the action id there or ''.
function connSlot(obj, key) {
  return {
    get: () => (obj[key] && obj[key].nextActionId) || '',
    set: (id) => { if (id) obj[key] = { edgeType: 'STANDARD', nextActionId: id }; else delete obj[key]; },
    isGoto: () => obj[key] && obj[key].edgeType === 'GOTO',
  };
}
const startSlot = {
  get: () => flow.startActionId || '',
  set: (id) => { if (id) flow.startActionId = id; else delete flow.startActionId; },
  isGoto: () => false,
};

function armSlots(a) {
  const arms = [];
  if (a.type === 'STATIC_BRANCH') (a.staticBranches || []).forEach((b, i) => arms.push({ label: b.branchValue || `(value ${i + 1})`, slot: connSlot(b, 'connection') }));
  if (a.type === 'LIST_BRANCH') (a.listBranches || []).forEach((b, i) => arms.push({ label: b.branchName || `Branch ${i + 1}`, slot: connSlot(b, 'connection') }));
  arms.push({ label: a.defaultBranchName || 'Otherwise', slot: connSlot(a, 'defaultBranch') });
  return arms;
}

function allSlots() {
  const out = [startSlot];
  for (const a of flow.actions) {
    if (isBranch(a)) out.push(...armSlots(a).map((x) => x.slot));
    else out.push(connSlot(a, 'connection'));
  }
  return out;
}

function parentSlot(id) { return allSlots().find((s) => s.get() === id); }

function nextId() {
  let n = Number(flow.nextAvailableActionId) || 1;
  for (const a of flow.actions) n = Math.max(n, (Number(a.actionId) || 0) + 1);
  flow.nextAvailableActionId = String(n + 1);
  return String(n);
}

function newAction(kind) {
  const id = nextId();
  switch (kind) {
    case 'code': return { type: 'CUSTOM_CODE', actionId: id, actionTypeVersion: 0, runtime: 'NODE20X', sourceCode: NODE_CODE, secretNames: [], inputFields: [], outputFields: [] };
    case 'setprop': return { type: 'SINGLE_CONNECTION', actionId: id, actionTypeId: '0-5', actionTypeVersion: 0, fields: { property_name: '', value: { type: 'STATIC_VALUE', staticValue: '' } } };
    case 'delay': return { type: 'SINGLE_CONNECTION', actionId: id, actionTypeId: '0-1', actionTypeVersion: 0, fields: { delta: '5', time_unit: 'MINUTES' } };
    case 'static': return { type: 'STATIC_BRANCH', actionId: id, actionTypeVersion: 0, inputValue: { type: 'OBJECT_PROPERTY', propertyName: '' }, staticBranches: [{ branchValue: '' }], defaultBranchName: 'Other values' };
    case 'list': return { type: 'LIST_BRANCH', actionId: id, actionTypeVersion: 0, listBranches: [{ branchName: 'Branch 1', filterBranch: { filterBranchType: 'AND', filters: [], filterBranches: [] } }], defaultBranchName: 'None met' };
    case 'webhook': return { type: 'WEBHOOK', actionId: id, actionTypeVersion: 0, webhookUrl: 'https://example.com/hook', method: 'POST', queryParams: [] };
  }
  throw new Error('unknown action kind ' + kind);
}

function insertAt(slot, kind) {
  const a = newAction(kind);
  const rest = slot.get();
  if (rest) {
    if (isBranch(a)) a.defaultBranch = { edgeType: 'STANDARD', nextActionId: rest };
    else a.connection = { edgeType: 'STANDARD', nextActionId: rest };
  }
  flow.actions.push(a);
  slot.set(a.actionId);
  selected = a.actionId;
  changed();
}

// subtree lists the actions reachable from id over STANDARD edges.
function subtree(id, seen = new Set()) {
  const a = byId(id);
  if (!a || seen.has(id)) return seen;
  seen.add(id);
  const slots = isBranch(a) ? armSlots(a).map((x) => x.slot) : [connSlot(a, 'connection')];
  for (const s of slots) if (!s.isGoto() && s.get()) subtree(s.get(), seen);
  return seen;
}

function removeAction(a) {
  const p = parentSlot(a.actionId);
  let gone = new Set([a.actionId]);
  if (isBranch(a)) {
    gone = subtree(a.actionId);
    if (gone.size > 1 && !window.confirm(`Delete this branch and the ${gone.size - 1} action(s) on its arms?`)) return;
    if (p) p.set('');
  } else if (p) {
    p.set(a.connection && a.connection.edgeType !== 'GOTO' ? a.connection.nextActionId : '');
  }
  flow.actions = flow.actions.filter((x) => !gone.has(x.actionId));
  for (const s of allSlots()) if (gone.has(s.get())) s.set('');
  selected = 'trigger';
  changed();
}

// moveUp swaps a linear action with the linear action before it.
function moveUp(a) {
  const p = parentSlot(a.actionId);
  const prev = flow.actions.find((x) => !isBranch(x) && x.connection && x.connection.nextActionId === a.actionId);
  if (!prev || isBranch(a)) return false;
  const g = parentSlot(prev.actionId);
  if (!g || !p) return false;
  const after = a.connection ? a.connection.nextActionId : '';
  g.set(a.actionId);
  a.connection = { edgeType: 'STANDARD', nextActionId: prev.actionId };
  if (after) prev.connection = { edgeType: 'STANDARD', nextActionId: after }; else delete prev.connection;
  changed();
  return true;
}
function moveDown(a) {
  const next = a.connection && byId(a.connection.nextActionId);
  return next && !isBranch(next) ? moveUp(next) : false;
}

// ---- drawing ------------------------------------------------------------

function describe(a) {
  const f = a.fields || {};
  const val = (v) => !v ? '' : v.type === 'STATIC_VALUE' ? JSON.stringify(v.staticValue) : v.type === 'OBJECT_PROPERTY' ? `property ${v.propertyName}` : `output ${v.dataKey} of action ${v.actionId}`;
  switch (a.type) {
    case 'CUSTOM_CODE': return ['Custom code', 'code', `${a.runtime || ''} · ${(a.inputFields || []).length} in, ${(a.outputFields || []).length} out`];
    case 'STATIC_BRANCH': return ['Branch on a value', 'branch', val(a.inputValue)];
    case 'LIST_BRANCH': return ['Branch on filters', 'branch', `${(a.listBranches || []).length} branch(es)`];
    case 'WEBHOOK': return ['Send a webhook', 'webhook', `${a.method || ''} ${a.webhookUrl || ''}`];
  }
  if (a.actionTypeId === '0-5') return ['Set property', 'setprop', `${f.property_name || '?'} = ${val(f.value)}`];
  if (a.actionTypeId === '0-1') return ['Delay', 'delay', `${f.delta || '?'} ${(f.time_unit || '').toLowerCase()}`];
  return [a.type, '', a.actionTypeId || ''];
}

function triggerSummary() {
  const ec = flow.enrollmentCriteria || { type: 'MANUAL' };
  if (ec.type !== 'LIST_BASED') return 'Enrolled by hand';
  const groups = ((ec.listFilterBranch || {}).filterBranches || []).filter((g) => (g.filters || []).length);
  const n = groups.reduce((k, g) => k + g.filters.length, 0);
  return `${n} filter(s) in ${groups.length} group(s)${ec.shouldReEnroll ? ' · re-enrolls' : ''}`;
}

function node(kind, label, summary, id, extra = '') {
  const b = h('button', { type: 'button', class: `node ${kind} ${extra}`, 'data-action': id, 'aria-pressed': selected === id ? 'true' : 'false',
    onclick: () => { selected = id; draw(); } }, h('span', { class: 'kind' }, label), h('span', { class: 'sum' }, summary));
  if (selected === id) b.classList.add('selected');
  if (invalid.has(id)) { b.classList.add('invalid'); b.title = invalid.get(id); }
  const found = lint.get(id);
  if (found && found.length) {
    const errs = found.filter((f) => f.severity === 'error').length;
    b.append(h('span', { class: `pill ${errs ? 'bad' : 'wait'} lint-count` }, `${found.length} lint finding${found.length > 1 ? 's' : ''}`));
  }
  return b;
}

function addButton(slot, where) {
  if (readonly) return h('div', { class: 'arrow head' });
  const wrap = h('div', { class: 'chain' }, h('div', { class: 'arrow' }));
  const btn = h('button', { type: 'button', class: 'add', title: 'Add an action here', 'aria-label': `Add an action ${where}` }, '+');
  btn.addEventListener('click', () => {
    const menu = select([['', 'Add…'], ['code', 'Custom code'], ['setprop', 'Set property'], ['delay', 'Delay'], ['static', 'Branch on a value'], ['list', 'Branch on filters'], ['webhook', 'Send a webhook']], '',
      { 'aria-label': 'Action type to add', class: 'add-menu' });
    menu.addEventListener('change', () => { if (menu.value) insertAt(slot, menu.value); });
    menu.addEventListener('blur', () => { if (menu.isConnected) menu.replaceWith(btn); });
    btn.replaceWith(menu);
    menu.focus();
  });
  wrap.append(btn, h('div', { class: 'arrow head' }));
  return wrap;
}

function chain(slot, where, seen) {
  const col = h('div', { class: 'chain' });
  col.append(addButton(slot, where));
  let s = slot;
  while (s.get()) {
    const id = s.get();
    const a = byId(id);
    if (!a || seen.has(id) || s.isGoto()) {
      col.append(h('div', { class: 'end' }, a ? `Go to action ${id}` : `Missing action ${id}`));
      return col;
    }
    seen.add(id);
    const [label, kind, sum] = describe(a);
    col.append(node(kind, `${label} · ${id}`, sum, id));
    if (isBranch(a)) {
      const row = h('div', { class: 'branches' });
      for (const arm of armSlots(a)) {
        row.append(h('div', { class: 'branch-col' }, h('div', { class: 'arrow' }), h('span', { class: 'branch-label' }, arm.label), chain(arm.slot, `on the ${arm.label} branch of action ${id}`, seen)));
      }
      col.append(h('div', { class: 'arrow' }), row);
      return col;
    }
    s = connSlot(a, 'connection');
    col.append(addButton(s, `after action ${id}`));
  }
  col.append(h('div', { class: 'end' }, 'End'));
  return col;
}

function draw() {
  const top = h('div', { class: 'chain' });
  top.append(node('trigger', 'Enrollment trigger', triggerSummary(), 'trigger'));
  top.append(chain(startSlot, 'at the start', new Set()));
  canvas.replaceChildren(top);
  drawPanel();
}

// ---- panels ---------------------------------------------------------------

function drawPanel() {
  if (editor && !panel.contains(editor.getWrapperElement())) editor = null;
  const keep = panel.dataset.showing === selected && panel.dataset.dirtyRev === String(panelRev);
  if (keep) return;
  panel.dataset.showing = selected;
  panel.dataset.dirtyRev = String(panelRev);
  editor = null;
  const a = selected === 'trigger' ? null : byId(selected);
  if (selected !== 'trigger' && !a) { selected = 'trigger'; return drawPanel(); }
  const body = a ? actionPanel(a) : triggerPanel();
  if (readonly) for (const el of body.querySelectorAll('input, select, textarea, button:not(.keep)')) el.disabled = true;
  panel.replaceChildren(body);
  if (editor) editor.refresh();
}
let panelRev = 0;
// redraw rebuilds the panel (after a structural change inside it).
function redraw() { panelRev++; changed(); }

function triggerPanel() {
  flow.enrollmentCriteria = flow.enrollmentCriteria || { type: 'MANUAL', shouldReEnroll: false };
  const ec = flow.enrollmentCriteria;
  const box = h('div', { id: 'trigger-panel' }, h('h2', {}, 'Enrollment trigger'));
  const name = h('input', { value: flow.name || '', id: 'flow-name-input', oninput: (e) => { flow.name = e.target.value; dirty = true; } });
  box.append(field('Workflow name', name));
  const type = select([['MANUAL', 'Only when enrolled by hand'], ['LIST_BASED', 'When a record meets the filters']], ec.type, { id: 'trigger-type' });
  type.addEventListener('change', () => {
    ec.type = type.value;
    if (ec.type === 'LIST_BASED' && !ec.listFilterBranch) ec.listFilterBranch = { filterBranchType: 'OR', filters: [], filterBranches: [{ filterBranchType: 'AND', filters: [], filterBranches: [] }] };
    if (ec.type === 'MANUAL') delete ec.listFilterBranch;
    redraw();
  });
  box.append(field('Records enroll', type));
  if (ec.type === 'LIST_BASED') {
    const or = ec.listFilterBranch;
    or.filterBranchType = 'OR';
    or.filterBranches = or.filterBranches || [];
    box.append(h('p', { class: 'hint' }, 'A record enrolls when it meets every filter of any one group.'));
    or.filterBranches.forEach((g, gi) => {
      if (gi > 0) box.append(h('div', { class: 'or' }, 'OR'));
      box.append(filterGroup(g, () => { or.filterBranches.splice(gi, 1); redraw(); }, `group ${gi + 1}`));
    });
    box.append(h('button', { type: 'button', id: 'add-or-group', onclick: () => { or.filterBranches.push({ filterBranchType: 'AND', filters: [], filterBranches: [] }); redraw(); } }, '+ OR group'));
  }
  box.append(h('label', { class: 'check' }, h('input', { type: 'checkbox', id: 'reenroll', checked: ec.shouldReEnroll, onchange: (e) => { ec.shouldReEnroll = e.target.checked; changed(); } }),
    'Re-enroll a record each time it meets the trigger again'));
  return box;
}

// filterGroup edits one AND group of PROPERTY filters.
function filterGroup(g, remove, name) {
  g.filterBranchType = 'AND';
  g.filters = g.filters || [];
  g.filterBranches = g.filterBranches || [];
  const box = h('div', { class: 'group rows', 'aria-label': `Filter ${name}` });
  g.filters.forEach((f, fi) => box.append(filterRow(f, () => { g.filters.splice(fi, 1); redraw(); })));
  box.append(h('div', {},
    h('button', { type: 'button', class: 'small add-filter', onclick: () => { g.filters.push({ filterType: 'PROPERTY', property: '', operation: { operationType: 'STRING', operator: 'IS_EQUAL_TO', value: '', includeObjectsWithNoValueSet: false } }); redraw(); } }, '+ AND filter'),
    h('button', { type: 'button', class: 'small danger', onclick: remove }, 'Remove group')));
  return box;
}

function opType(p) {
  switch (p && p.type) {
    case 'number': return 'NUMBER';
    case 'bool': return 'BOOL';
    case 'enumeration': return 'ENUMERATION';
    case 'date': case 'datetime': return 'TIME_POINT';
  }
  return 'STRING';
}

function filterRow(f, remove) {
  const op = f.operation = f.operation || {};
  const prop = select(propOptions(), f.property, { 'aria-label': 'Property', class: 'filter-prop' });
  const ops = () => [...(OPERATORS[op.operationType] || OPERATORS.STRING), 'IS_KNOWN', 'IS_UNKNOWN'];
  const oper = select(ops(), op.operator, { 'aria-label': 'Operator', class: 'filter-op' });
  const valueOf = () => op.operationType === 'ENUMERATION' ? (op.values || []).join(', ')
    : op.operationType === 'TIME_POINT' && op.value ? new Date(Number(op.value)).toISOString().slice(0, 16) : (op.value ?? '');
  const val = h('input', { value: valueOf(), 'aria-label': 'Value', class: 'filter-value', type: op.operationType === 'TIME_POINT' ? 'datetime-local' : 'text' });
  const setValue = () => {
    const v = val.value;
    delete op.value; delete op.values;
    if (op.operator === 'IS_KNOWN' || op.operator === 'IS_UNKNOWN') return;
    if (op.operationType === 'ENUMERATION') op.values = v.split(',').map((s) => s.trim()).filter(Boolean);
    else if (op.operationType === 'NUMBER') op.value = v === '' || isNaN(Number(v)) ? v : Number(v);
    else if (op.operationType === 'BOOL') op.value = v.trim().toLowerCase() === 'true';
    else if (op.operationType === 'TIME_POINT') op.value = v ? new Date(v).getTime() : '';
    else op.value = v;
  };
  prop.addEventListener('change', () => {
    f.property = prop.value;
    op.operationType = opType(propDef(prop.value));
    if (!ops().includes(op.operator)) op.operator = ops()[0];
    setValue();
    redraw();
  });
  oper.addEventListener('change', () => { op.operator = oper.value; setValue(); changed(); val.hidden = op.operator.startsWith('IS_KNOWN') || op.operator === 'IS_UNKNOWN'; });
  val.addEventListener('input', () => { setValue(); dirty = true; });
  val.addEventListener('change', () => changed());
  val.hidden = op.operator === 'IS_KNOWN' || op.operator === 'IS_UNKNOWN';
  return h('div', { class: 'filter' }, prop, oper, val, h('button', { type: 'button', class: 'small danger', 'aria-label': 'Remove filter', onclick: remove }, '×'));
}

function actionPanel(a) {
  const [label] = describe(a);
  const head = h('h2', {}, `${label} · action ${a.actionId}`);
  const tools = h('div', { class: 'actions' },
    h('button', { type: 'button', class: 'small', onclick: () => moveUp(a) || say('Only an action that follows another plain action can move up.', 'bad') }, 'Move up'),
    h('button', { type: 'button', class: 'small', onclick: () => moveDown(a) || say('Only an action followed by another plain action can move down.', 'bad') }, 'Move down'),
    h('button', { type: 'button', class: 'small danger', id: 'delete-action', onclick: () => removeAction(a) }, 'Delete'));
  const box = h('div', { id: 'action-panel', 'data-action-id': a.actionId }, head, tools);
  if (invalid.has(a.actionId)) box.append(h('p', { class: 'error', role: 'alert', id: 'action-error' }, invalid.get(a.actionId)));
  if (a.type === 'CUSTOM_CODE') codePanel(a, box);
  else if (a.type === 'STATIC_BRANCH') staticBranchPanel(a, box);
  else if (a.type === 'LIST_BRANCH') listBranchPanel(a, box);
  else if (a.type === 'WEBHOOK') webhookPanel(a, box);
  else if (a.actionTypeId === '0-5') setPropertyPanel(a, box);
  else if (a.actionTypeId === '0-1') delayPanel(a, box);
  box.append(rateLimit(a));
  return box;
}

// earlierOutputs lists [actionId, output name] of the custom code actions.
function codeOutputs(except) {
  const out = [];
  for (const x of flow.actions) if (x.type === 'CUSTOM_CODE' && x.actionId !== except) for (const o of x.outputFields || []) out.push([x.actionId, o.name]);
  return out;
}

// valueEditor edits a HubSpot value source: a static value, a property of
// the record, or a custom code output.
function valueEditor(v, onChange, allowField = true, id = '') {
  const kinds = [['STATIC_VALUE', 'A value'], ['OBJECT_PROPERTY', 'A property of the record']];
  if (allowField) kinds.push(['FIELD_DATA', 'An output of custom code']);
  const kind = select(kinds, v.type, { 'aria-label': 'Value from', class: 'value-kind' });
  const wrap = h('div', { class: 'rows' });
  const fill = () => {
    let ctl;
    if (v.type === 'OBJECT_PROPERTY') {
      ctl = select(propOptions(), v.propertyName || '', { 'aria-label': 'Property', class: 'value-prop' });
      ctl.addEventListener('change', () => { v.propertyName = ctl.value; onChange(); });
    } else if (v.type === 'FIELD_DATA') {
      const opts = codeOutputs(selected).map(([aid, n]) => [`${aid}/${n}`, `${n} (action ${aid})`]);
      ctl = select([['', 'Choose an output'], ...opts], v.actionId ? `${v.actionId}/${v.dataKey}` : '', { 'aria-label': 'Output', class: 'value-output' });
      ctl.addEventListener('change', () => { const [aid, k] = ctl.value.split('/'); v.actionId = aid; v.dataKey = k; onChange(); });
    } else {
      ctl = h('input', { value: v.staticValue ?? '', 'aria-label': 'Value', class: 'value-static', id: id || null });
      ctl.addEventListener('input', () => { v.staticValue = ctl.value; dirty = true; });
      ctl.addEventListener('change', onChange);
    }
    wrap.replaceChildren(h('div', {}, kind, ctl));
  };
  kind.addEventListener('change', () => {
    for (const k of ['propertyName', 'staticValue', 'actionId', 'dataKey']) delete v[k];
    v.type = kind.value;
    if (v.type === 'STATIC_VALUE') v.staticValue = '';
    fill();
    onChange();
  });
  fill();
  return wrap;
}

function setPropertyPanel(a, box) {
  a.fields = a.fields || {};
  const name = select(propOptions(), a.fields.property_name || '', { id: 'setprop-name' });
  name.addEventListener('change', () => { a.fields.property_name = name.value; changed(); });
  box.append(field('Property to set', name));
  a.fields.value = a.fields.value || { type: 'STATIC_VALUE', staticValue: '' };
  box.append(field('To', valueEditor(a.fields.value, changed, true, 'setprop-value')));
}

function delayPanel(a, box) {
  a.fields = a.fields || {};
  const n = h('input', { type: 'number', min: '1', value: a.fields.delta ?? '', id: 'delay-delta', onchange: (e) => { a.fields.delta = e.target.value; changed(); } });
  const unit = select(['SECONDS', 'MINUTES', 'HOURS', 'DAYS', 'WEEKS'], a.fields.time_unit || 'MINUTES', { id: 'delay-unit' });
  unit.addEventListener('change', () => { a.fields.time_unit = unit.value; changed(); });
  box.append(h('div', { class: 'row' }, field('Wait', n), field('Unit', unit)));
}

function webhookPanel(a, box) {
  box.append(field('URL', h('input', { type: 'url', value: a.webhookUrl || '', id: 'webhook-url', onchange: (e) => { a.webhookUrl = e.target.value; changed(); } }),
    'Sent through the same egress guard as custom code.'));
  const m = select(['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], a.method || 'POST', { id: 'webhook-method' });
  m.addEventListener('change', () => { a.method = m.value; changed(); });
  box.append(field('Method', m));
  box.append(h('h3', {}, 'Query parameters'), namedValues(a, 'queryParams'));
}

function staticBranchPanel(a, box) {
  a.inputValue = a.inputValue || { type: 'OBJECT_PROPERTY', propertyName: '' };
  box.append(field('Branch on', valueEditor(a.inputValue, changed)));
  box.append(h('h3', {}, 'Branches (one per value)'));
  const rows = h('div', { class: 'rows' });
  (a.staticBranches = a.staticBranches || []).forEach((b, i) => rows.append(h('div', {},
    h('input', { value: b.branchValue, 'aria-label': `Value of branch ${i + 1}`, onchange: (e) => { b.branchValue = e.target.value; changed(); } }),
    h('button', { type: 'button', class: 'small danger', onclick: () => dropArm(a.staticBranches, i) }, '×'))));
  box.append(rows, h('button', { type: 'button', class: 'small', onclick: () => { a.staticBranches.push({ branchValue: '' }); redraw(); } }, '+ Branch'));
  box.append(field('Name of the branch for any other value', h('input', { value: a.defaultBranchName || '', onchange: (e) => { a.defaultBranchName = e.target.value; changed(); } })));
}

function listBranchPanel(a, box) {
  box.append(h('p', { class: 'hint' }, 'A record takes the first branch whose filters it meets.'));
  (a.listBranches = a.listBranches || []).forEach((b, i) => {
    b.filterBranch = b.filterBranch || { filterBranchType: 'AND', filters: [], filterBranches: [] };
    box.append(field(`Branch ${i + 1} name`, h('input', { value: b.branchName || '', onchange: (e) => { b.branchName = e.target.value; changed(); } })));
    box.append(filterGroup(b.filterBranch, () => dropArm(a.listBranches, i), `of branch ${i + 1}`));
  });
  box.append(h('button', { type: 'button', class: 'small', onclick: () => { a.listBranches.push({ branchName: `Branch ${a.listBranches.length + 1}`, filterBranch: { filterBranchType: 'AND', filters: [], filterBranches: [] } }); redraw(); } }, '+ Branch'));
  box.append(field('Name of the branch when none is met', h('input', { value: a.defaultBranchName || '', onchange: (e) => { a.defaultBranchName = e.target.value; changed(); } })));
}

// dropArm removes a branch arm and the actions on it.
function dropArm(arms, i) {
  const arm = arms[i];
  const gone = arm.connection && arm.connection.nextActionId ? subtree(arm.connection.nextActionId) : new Set();
  if (gone.size && !window.confirm(`Remove this branch and the ${gone.size} action(s) on it?`)) return;
  arms.splice(i, 1);
  flow.actions = flow.actions.filter((x) => !gone.has(x.actionId));
  redraw();
}

// namedValues edits a list of {name, value} (input fields, query params).
function namedValues(a, key) {
  const list = (a[key] = a[key] || []);
  const box = h('div', { class: 'rows', id: `${key}-rows` });
  list.forEach((f, i) => {
    f.value = f.value || { type: 'OBJECT_PROPERTY', propertyName: '' };
    box.append(h('div', { class: 'group' },
      h('input', { value: f.name, 'aria-label': 'Name', class: 'input-name', placeholder: 'name', onchange: (e) => { f.name = e.target.value; changed(); } }),
      valueEditor(f.value, changed),
      h('button', { type: 'button', class: 'small danger', 'aria-label': `Remove ${f.name}`, onclick: () => { list.splice(i, 1); redraw(); } }, '×')));
  });
  box.append(h('button', { type: 'button', class: 'small', id: `add-${key}`, onclick: () => { list.push({ name: '', value: { type: 'OBJECT_PROPERTY', propertyName: '' } }); redraw(); } }, '+ Add'));
  return box;
}

function rateLimit(a) {
  const on = !!a.rateLimit;
  const n = h('input', { type: 'number', min: '1', value: on ? a.rateLimit.executions : '', placeholder: 'no limit', 'aria-label': 'Executions', class: 'rate-n' });
  const per = select(['SECONDS', 'MINUTES', 'HOURS'], on ? a.rateLimit.per : 'MINUTES', { 'aria-label': 'Per' });
  const set = () => {
    if (n.value === '') delete a.rateLimit; else a.rateLimit = { executions: Number(n.value), per: per.value };
    changed();
  };
  n.addEventListener('change', set);
  per.addEventListener('change', set);
  return h('details', { class: 'group', open: on }, h('summary', {}, 'Rate limit'),
    h('p', { class: 'hint' }, 'Over the limit, records wait for the next window instead of failing.'), h('div', { class: 'row' }, field('At most', n), field('per', per)));
}

function codePanel(a, box) {
  const rt = select(RUNTIMES.map((r) => [r, r.startsWith('PYTHON') ? 'Python 3' : `Node.js (${r})`]), a.runtime, { id: 'code-runtime' });
  rt.addEventListener('change', () => {
    const wasPython = (a.runtime || '').startsWith('PYTHON');
    a.runtime = rt.value;
    const isPython = a.runtime.startsWith('PYTHON');
    if (wasPython !== isPython && (a.sourceCode === NODE_CODE || a.sourceCode === PYTHON_CODE || !a.sourceCode)) a.sourceCode = isPython ? PYTHON_CODE : NODE_CODE;
    redraw();
  });
  box.append(field('Language', rt));

  const ta = h('textarea', { id: 'code-source', 'aria-label': 'Code', rows: 14, spellcheck: 'false' });
  ta.value = a.sourceCode || '';
  box.append(h('div', { class: 'field' }, h('span', {}, 'Code'), ta));
  box.append(lintList(a));
  queueMicrotask(() => {
    if (!window.CodeMirror || !ta.isConnected) {
      ta.addEventListener('input', () => { a.sourceCode = ta.value; dirty = true; });
      return;
    }
    editor = window.CodeMirror.fromTextArea(ta, { mode: (a.runtime || '').startsWith('PYTHON') ? 'python' : 'javascript', lineNumbers: true, indentUnit: 2, tabSize: 2,
      readOnly: readonly, extraKeys: { Tab: false, 'Shift-Tab': false }, gutters: ['CodeMirror-linenumbers', 'lint-gutter'] });
    markLint(editor, lint.get(a.actionId) || []);
    editor.on('change', () => { a.sourceCode = editor.getValue(); dirty = true; document.getElementById('save').textContent = 'Save changes'; });
    window.spokeEditor = editor; // lets the browser tests type into it
  });

  box.append(h('h3', {}, 'Secrets'));
  if (!secrets.length) box.append(h('p', { class: 'empty' }, 'No secrets yet — add them on the Secrets page.'));
  const chosen = new Set(a.secretNames || []);
  for (const s of secrets) {
    box.append(h('label', { class: 'check' }, h('input', { type: 'checkbox', value: s, checked: chosen.has(s), class: 'secret-pick',
      onchange: (e) => { if (e.target.checked) chosen.add(s); else chosen.delete(s); a.secretNames = [...chosen]; changed(); } }), s));
  }
  box.append(h('h3', {}, 'Input fields'), h('p', { class: 'hint' }, 'event.inputFields.NAME in the code.'), namedValues(a, 'inputFields'));

  box.append(h('h3', {}, 'Output fields'));
  const outs = h('div', { class: 'rows', id: 'outputFields-rows' });
  (a.outputFields = a.outputFields || []).forEach((o, i) => outs.append(h('div', {},
    h('input', { value: o.name, 'aria-label': 'Output name', class: 'output-name', onchange: (e) => { o.name = e.target.value; changed(); } }),
    (() => { const t = select(OUTPUT_TYPES, o.type, { 'aria-label': 'Output type', class: 'output-type' }); t.addEventListener('change', () => { o.type = t.value; changed(); }); return t; })(),
    h('button', { type: 'button', class: 'small danger', onclick: () => { a.outputFields.splice(i, 1); redraw(); } }, '×'))));
  outs.append(h('button', { type: 'button', class: 'small', id: 'add-output', onclick: () => { a.outputFields.push({ name: '', type: 'STRING' }); redraw(); } }, '+ Add output'));
  box.append(outs);
  if (!readonly) box.append(testPanel(a));
}

// ---- lint findings ----------------------------------------------------------

// lintList lists the findings of the action's code from the last save;
// each one moves the editor's cursor to its line.
function lintList(a) {
  const found = lint.get(a.actionId) || [];
  const box = h('div', { id: 'lint', 'aria-label': 'Lint findings' });
  if (!found.length) {
    box.append(h('p', { class: 'hint' }, lint.has(a.actionId) ? 'Lint found nothing in this code at the last save.' : 'Saving checks this code (lint) and lists what it finds here.'));
    return box;
  }
  box.append(h('p', { class: 'hint' }, `Lint found ${found.length} thing${found.length > 1 ? 's' : ''} at the last save. Errors keep the workflow from being turned on until you turn it on anyway.`));
  box.append(h('ul', { class: 'lint', id: 'lint-list' }, ...found.map((f) => h('li', { class: f.severity, 'data-line': f.line, 'data-rule': f.rule },
    h('button', { type: 'button', onclick: () => { if (editor) { editor.focus(); editor.setCursor({ line: Math.max(f.line - 1, 0), ch: Math.max(f.column - 1, 0) }); } } },
      `Line ${f.line}:${f.column} `, h('code', {}, f.rule), ` (${f.severity}): ${f.message}`)))));
  return box;
}

// markLint marks the lines of findings in CodeMirror: a line class and
// a dot in the lint gutter whose title is the message.
function markLint(cm, found) {
  for (const f of found) {
    const line = Math.min(Math.max(f.line - 1, 0), cm.lineCount() - 1);
    cm.addLineClass(line, 'background', `lint-line-${f.severity === 'error' ? 'error' : 'warning'}`);
    cm.setGutterMarker(line, 'lint-gutter', h('span', { class: `lint-mark ${f.severity}`, title: `${f.rule}: ${f.message}` }));
  }
}

// setLint keeps the findings of a save's answer (warnings) or of a
// refused save's errors, by action.
function setLint(findings) {
  lint = new Map();
  for (const a of flow.actions) if (a.type === 'CUSTOM_CODE') lint.set(a.actionId, []);
  for (const f of findings) {
    if (!lint.has(f.actionId)) lint.set(f.actionId, []);
    lint.get(f.actionId).push(f);
  }
  for (const list of lint.values()) list.sort((x, y) => x.line - y.line || x.column - y.column);
}

// refusedLint turns the errors of a save refused for lint errors into
// findings.
function refusedLint(errors) {
  return errors.filter((e) => e.context && e.context.rule).map((e) => ({
    actionId: String([].concat(e.context.actionId)[0]), rule: String([].concat(e.context.rule)[0]), severity: 'error',
    line: Number([].concat(e.context.line)[0]) || 1, column: Number([].concat(e.context.column)[0]) || 1,
    message: String(e.message || '').replace(/^action "[^"]*" line \d+: [a-z-]+: /, '') }));
}

// ---- the rollout settings --------------------------------------------------

// rolloutEditor edits the flow's rollout field: stages, the failure rate
// that halts it and whether each stage waits for approval.
function rolloutEditor() {
  const box = document.getElementById('rollout-edit');
  if (!box) return;
  const ro = flow.rollout;
  const on = h('input', { type: 'checkbox', id: 'rollout-on', checked: !!ro });
  const stages = h('input', { id: 'rollout-stages', value: ro ? (ro.stages || []).join(', ') : '1, 10, 100', placeholder: '1, 10, 100' });
  const rate = h('input', { id: 'rollout-rate', inputmode: 'decimal', size: 5, value: ro ? String(+(100 * (ro.maxFailureRate || 0)).toFixed(2)) : '5' });
  const approval = select([['auto', 'Next stage opens once a stage passes'], ['manual', 'Each stage waits for Advance']], ro ? ro.approval || 'auto' : 'auto', { id: 'rollout-approval' });
  const apply = () => {
    if (!on.checked) { delete flow.rollout; } else {
      flow.rollout = { stages: stages.value.split(/[\s,]+/).filter(Boolean).map(Number), maxFailureRate: (Number(rate.value) || 0) / 100, approval: approval.value };
    }
    for (const el of [stages, rate, approval]) el.disabled = !on.checked || readonly;
    changed();
  };
  for (const el of [on, stages, rate, approval]) el.addEventListener('change', apply);
  for (const el of [stages, rate, approval]) el.disabled = !ro || readonly;
  on.disabled = readonly;
  box.replaceChildren(
    h('p', { class: 'hint' }, 'When the workflow is turned on or saved, the first stage runs that many enrollments; the rest wait HELD until the stage passes. A stage that fails more than the rate halts the rollout.'),
    h('label', { class: 'check' }, on, h('span', {}, 'Roll out in stages')),
    h('div', { class: 'row' }, field('Stages (enrollments)', stages), field('Halt above failure rate (%)', rate), field('Approval', approval)));
}

// ---- the Test panel ---------------------------------------------------------

function testPanel(a) {
  const box = h('section', { class: 'test', id: 'test-panel', 'aria-label': 'Test' }, h('h3', {}, 'Test'));
  let picked = '';
  const q = h('input', { type: 'search', placeholder: 'Search by name or email', id: 'test-search', 'aria-label': 'Record to test on' });
  const list = h('ul', { class: 'picklist', id: 'test-results', hidden: true });
  const chosen = h('p', { id: 'test-record' }, 'No record chosen.');
  const search = async () => {
    const res = await api('POST', `/crm/v3/objects/${objectType}/search`, { query: q.value, limit: 10, properties: ['email', 'firstname', 'lastname', 'name', 'dealname', 'subject'] });
    if (!res.ok) { chosen.textContent = res.message; return; }
    list.replaceChildren(...res.body.results.map((r) => {
      const p = r.properties;
      const label = [p.firstname, p.lastname].filter(Boolean).join(' ') || p.name || p.dealname || p.subject || '';
      return h('li', {}, h('button', { type: 'button', onclick: () => { picked = r.id; chosen.textContent = `Record ${r.id}: ${label} ${p.email || ''}`; list.hidden = true; } }, `${r.id} · ${label} ${p.email || ''}`));
    }));
    if (!res.body.results.length) list.replaceChildren(h('li', { class: 'empty' }, 'No record matches.'));
    list.hidden = false;
  };
  q.addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); search(); } });
  const real = h('input', { type: 'checkbox', id: 'test-real' });
  const go = h('button', { type: 'button', class: 'primary', id: 'test-run' }, 'Test');
  const out = h('div', { id: 'test-output', 'aria-live': 'polite' });
  go.addEventListener('click', async () => {
    if (!picked) { out.replaceChildren(h('p', { class: 'error' }, 'Choose a record to test on first.')); return; }
    if (real.checked && !window.confirm('Run for real? The action will write to the record and send its requests.')) return;
    if (dirty) { if (!(await save())) { out.replaceChildren(h('p', { class: 'error' }, 'Fix the errors above, then test again.')); return; } }
    go.disabled = true;
    out.replaceChildren(h('p', {}, real.checked ? 'Running for real…' : 'Running as a dry run…'));
    const res = await api('POST', `/automation/v4/flows/${flowId}/actions/${a.actionId}/test`, { objectId: picked, dryRun: !real.checked });
    go.disabled = false;
    out.replaceChildren(res.ok ? testResult(res.body) : h('p', { class: 'error' }, res.message));
  });
  box.append(h('div', { class: 'row' }, q, h('button', { type: 'button', id: 'test-find', onclick: search }, 'Find')), list, chosen,
    h('label', { class: 'check realrun' }, real, h('span', {}, 'Run for real: write to the record and send requests (off: dry run, writes nothing)')),
    go, out);
  return box;
}

function testResult(r) {
  const rows = Object.entries(r.outputFields || {}).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, typeof v === 'string' ? v : JSON.stringify(v))));
  const writes = Object.entries(r.writes || {}).map(([k, v]) => h('tr', {}, h('td', {}, k), h('td', {}, v)));
  return h('div', { class: 'result' },
    h('p', {}, h('span', { class: `pill ${r.status === 'SUCCESS' ? 'ok' : 'bad'}`, id: 'test-status' }, r.status), ` ${r.dryRun ? 'Dry run' : 'Real run'} · ${r.durationMs.toFixed(0)} ms · ${(r.memoryBytes / 1048576).toFixed(1)} MB`,
      r.runtime ? ` · ${r.runtime.name} ${r.runtime.version}` : ''),
    r.error ? h('div', { class: 'error', id: 'test-error' }, h('b', {}, r.error.type), ': ', r.error.message, r.error.stack ? h('pre', {}, r.error.stack) : null) : null,
    h('h4', {}, 'Output fields'), rows.length ? h('table', { id: 'test-outputs' }, ...rows) : h('p', { class: 'empty' }, 'None.'),
    h('h4', {}, r.dryRun ? 'Writes it would make' : 'Writes it made'), writes.length ? h('table', { id: 'test-writes' }, ...writes) : h('p', { class: 'empty' }, 'None.'),
    h('h4', {}, 'Logs'), h('pre', { class: 'logs', id: 'test-logs' }, r.logs || '(no logs)'));
}

// ---- talking to the API -------------------------------------------------------

async function api(method, path, body) {
  let res;
  try {
    res = await fetch('/ui/api' + path, { method, credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf(), Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    return { ok: false, status: 0, message: 'Spoke could not be reached. Is it still running?' };
  }
  let data = null;
  try { data = await res.json(); } catch (_) { /* an empty or non-JSON answer */ }
  if (res.ok) return { ok: true, status: res.status, body: data };
  const message = (data && data.message) || `The server answered ${res.status} ${res.statusText}.`;
  return { ok: false, status: res.status, message, category: (data && data.category) || '', context: (data && data.context) || {}, errors: (data && data.errors) || [] };
}

// wire strips the read-only fields the API adds to what it returns.
function wire() {
  const f = structuredClone(flow);
  delete f.createdAt; delete f.updatedAt; delete f.warnings;
  return f;
}

// save sends the flow. With acknowledgeLint, a flow turned on despite its
// custom code's lint errors is saved anyway (the person was shown them).
async function save(opts) {
  const btn = document.getElementById('save');
  btn.disabled = true;
  const body = wire();
  if (opts && opts.acknowledgeLint) body.acknowledgeLint = true;
  const msg = document.getElementById('save-message');
  const query = msg && msg.value.trim() ? `?message=${encodeURIComponent(msg.value.trim())}` : '';
  const res = await api('PUT', `/automation/v4/flows/${flowId}${query}`, body);
  btn.disabled = false;
  invalid = new Map();
  if (res.ok) {
    flow = res.body;
    flow.actions = flow.actions || [];
    setLint(flow.warnings || []);
    delete flow.warnings;
    if (msg) msg.value = '';
    dirty = false;
    btn.textContent = 'Save';
    document.getElementById('flow-rev').textContent = flow.revisionId;
    document.getElementById('flow-name').textContent = flow.name;
    const found = [...lint.values()].flat();
    const errs = found.filter((f) => f.severity === 'error').length;
    say(`Saved revision ${flow.revisionId}.` + (found.length ? ` Lint: ${errs} error(s), ${found.length - errs} warning(s) — see the custom code actions.` : ''), 'ok');
    showState();
    panelRev++;
    draw();
    return true;
  }
  if (res.status === 409) {
    notice.replaceChildren(h('div', { class: 'notice bad conflict', role: 'alert', id: 'conflict' },
      h('span', {}, 'Someone else changed this workflow since you opened it, so your changes were not saved. Reload to see their version (your unsaved changes will be lost).'),
      h('button', { type: 'button', class: 'primary', id: 'reload', onclick: () => { dirty = false; location.reload(); } }, 'Reload')));
    return false;
  }
  for (const id of res.context.actionId || []) {
    const parts = res.message.replace(/^Invalid flow: /, '').split('; ').filter((p) => p.startsWith(`action "${id}"`));
    invalid.set(id, parts.join('; ') || res.message);
  }
  const refused = refusedLint(res.errors);
  if (refused.length) {
    setLint(refused);
    if (!invalid.size && !lint.has(selected)) selected = refused[0].actionId;
  }
  say(res.message, 'bad');
  notice.firstChild.setAttribute('role', 'alert');
  if (flow.isEnabled && res.errors.some((e) => e.in === 'sourceCode')) {
    // Lint errors only block turning the flow on: offer to do it anyway.
    notice.firstChild.append(' ', h('button', { type: 'button', id: 'ack-lint', onclick: async () => {
      flow.isEnabled = true;
      if (!(await save({ acknowledgeLint: true }))) { flow.isEnabled = false; showState(); }
    } }, 'Turn on anyway'));
  }
  if (invalid.size) selected = [...invalid.keys()][0];
  panelRev++;
  draw();
  return false;
}

function showState() {
  const st = document.getElementById('flow-state');
  st.textContent = flow.isEnabled ? 'On' : 'Off';
  st.className = 'pill' + (flow.isEnabled ? ' ok' : '');
  document.getElementById('toggle').textContent = flow.isEnabled ? 'Turn off' : 'Turn on';
}

// ---- enrollment and live counts ------------------------------------------------

let watching = false;
async function pollStats(until) {
  const box = document.getElementById('stats');
  const bar = document.getElementById('progress');
  const text = document.getElementById('progress-text');
  const res = await fetch(box.dataset.stats, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
  if (!res.ok) return;
  const s = await res.json();
  for (const el of box.querySelectorAll('[data-k]')) el.textContent = s[el.dataset.k];
  if (until) {
    const done = s.completed + s.failed - until.base;
    bar.hidden = false;
    bar.max = Math.max(until.total, 1);
    bar.value = Math.min(done, until.total);
    text.textContent = `${Math.min(done, until.total)} of ${until.total} finished`;
    if (s.active === 0 || done >= until.total) {
      text.textContent = `Done: ${until.total} enrolled, ${s.completed} completed, ${s.failed} failed in all.`;
      text.id = 'progress-text';
      text.dataset.done = '1';
      return;
    }
  }
  setTimeout(() => pollStats(until), until ? 700 : 3000);
}

// preflight asks what enrolling every matching record would cost (a dry
// run: records, worst-case custom code executions, quota left, when it
// runs out) and shows it with the button that enrolls them.
async function preflight() {
  const box = document.getElementById('preflight');
  if (dirty && !(await save())) return;
  if (!flow.isEnabled) { say('Turn the workflow on first: only a workflow that is on enrolls records.', 'bad'); return; }
  box.replaceChildren(h('p', {}, 'Counting the records that match…'));
  const res = await api('POST', `/automation/v4/flows/${flowId}/enrollments`, { allMatching: true, dryRun: true });
  if (!res.ok) { box.replaceChildren(h('p', { class: 'error' }, res.message)); return; }
  const p = res.body;
  const unlimited = p.quotaLimit === null || p.quotaLimit === undefined;
  const facts = h('dl', { class: 'facts', id: 'preflight-facts' },
    h('dt', {}, 'Records that would enroll'), h('dd', { 'data-k': 'wouldEnroll' }, String(p.wouldEnroll)),
    h('dt', {}, 'Skipped'), h('dd', {}, `${p.skipped.length} (already enrolled or not matching)`),
    h('dt', {}, 'Custom code executions, worst case'), h('dd', { 'data-k': 'customCodeExecutions' }, `${p.customCodeExecutions} (${p.customCodeExecutionsPerRecord} per record)`),
    h('dt', {}, `Quota left in ${p.period}`), h('dd', { 'data-k': 'quotaRemaining' }, unlimited ? 'no limit' : `${p.quotaRemaining} of ${p.quotaLimit}`));
  const parts = [h('h3', {}, 'Before you enroll'), facts];
  if (p.quotaWouldRunOut) {
    parts.push(h('p', { class: 'notice bad', id: 'preflight-runs-out' }, `The quota runs out after ${p.quotaRunsOutAfterRecords} records; the rest would wait until `,
      h('time', { datetime: p.quotaResetsAt }, p.quotaResetsAt), ' unless the limit is raised.'));
  }
  if (!p.wouldEnroll) parts.push(h('p', { class: 'empty' }, 'No record would enroll.'));
  else parts.push(h('div', { class: 'row' },
    h('button', { type: 'button', class: 'primary', id: 'enroll-confirm', onclick: () => enroll({ allMatching: true }) }, `Enroll ${p.wouldEnroll} record(s)`),
    h('button', { type: 'button', onclick: () => box.replaceChildren() }, 'Cancel')));
  box.replaceChildren(h('div', { class: 'preflight card' }, ...parts));
  localizeTimes(box);
}

// quotaChoice answers a bulk enrollment refused for the quota: enroll
// anyway and let the rest wait for quota, or leave it.
function quotaChoice(body, message) {
  const box = document.getElementById('preflight');
  box.replaceChildren(h('div', { class: 'notice bad', role: 'alert', id: 'quota-exceeded' },
    h('p', {}, message),
    h('div', { class: 'row' },
      h('button', { type: 'button', class: 'primary', id: 'allow-queueing', onclick: () => enroll({ ...body, allowQueueing: true }) }, 'Enroll and let the rest wait for quota'),
      h('button', { type: 'button', onclick: () => box.replaceChildren() }, 'Cancel'))));
}

async function enroll(body) {
  if (dirty && !(await save())) return;
  if (!flow.isEnabled) { say('Turn the workflow on first: only a workflow that is on enrolls records.', 'bad'); return; }
  const before = await (await fetch(document.getElementById('stats').dataset.stats, { credentials: 'same-origin' })).json();
  const res = await api('POST', `/automation/v4/flows/${flowId}/enrollments`, body);
  if (!res.ok && res.status === 409 && res.category === 'QUOTA_EXCEEDED') { quotaChoice(body, res.message); return; }
  if (!res.ok) { say(res.message, 'bad'); return; }
  document.getElementById('preflight').replaceChildren();
  const n = res.body.enrolled.length;
  const skipped = res.body.skipped.length;
  say(`Enrolled ${n} record(s)${skipped ? `; ${skipped} skipped (already enrolled or not found)` : ''}.`, 'ok');
  document.getElementById('progress-text').dataset.done = '';
  if (n) pollStats({ base: before.completed + before.failed, total: n });
}

// ---- start -----------------------------------------------------------------------

draw();
rolloutEditor();
if (!readonly) {
  document.getElementById('save').addEventListener('click', save);
  document.getElementById('toggle').addEventListener('click', async () => {
    flow.isEnabled = !flow.isEnabled;
    if (!(await save())) { flow.isEnabled = !flow.isEnabled; showState(); }
  });
  document.getElementById('enroll-all').addEventListener('click', preflight);
  document.getElementById('enroll-some').addEventListener('click', () => {
    const ids = document.getElementById('enroll-ids').value.split(/[\s,]+/).filter(Boolean);
    if (!ids.length) { say('Type the ids of the records to enroll.', 'bad'); return; }
    enroll({ objectIds: ids });
  });
  window.addEventListener('beforeunload', (e) => { if (dirty) e.preventDefault(); });
  if (!watching) { watching = true; setTimeout(() => pollStats(null), 3000); }
}
localizeTimes(root);
