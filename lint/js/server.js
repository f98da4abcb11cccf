'use strict';
// server.js: Spoke's warm JavaScript linter. It loads ESLint once, then
// answers one JSON request per line on stdin with one JSON line on stdout:
//   in:  {"id": 1, "source": "...", "inputs": ["a"]|null, "outputs": ["b"]|null}
//   out: {"id": 1, "findings": [{"rule", "severity", "line", "column", "message"}]}
// argv[2] is a JSON object of settings shared by every request:
// {"modules": [...], "timeoutMs": 20000}.

const readline = require('readline');
const { Linter } = require('eslint');
const plugin = require('./eslint-plugin-spoke');

const shared = JSON.parse(process.argv[2] || '{}');
const linter = new Linter({ configType: 'flat' });

function config(sourceType, req) {
  return [{
    files: ['**/*.js'],
    languageOptions: { ecmaVersion: 'latest', sourceType, parserOptions: { ecmaFeatures: { globalReturn: false } } },
    plugins: { spoke: plugin },
    rules: plugin.configs.recommended.rules,
    settings: { spoke: { modules: shared.modules || null, timeoutMs: shared.timeoutMs || 20000, inputs: req.inputs || null, outputs: req.outputs || null } },
  }];
}

function lint(req) {
  // HubSpot's code is CommonJS; code with import/export is a module.
  let messages = linter.verify(req.source, config('commonjs', req), { filename: 'action.js' });
  if (messages.some((m) => m.fatal) && /^\s*(import|export)\s/m.test(req.source)) {
    messages = linter.verify(req.source, config('module', req), { filename: 'action.js' });
  }
  return messages.map((m) => ({
    rule: m.fatal ? 'syntax-error' : String(m.ruleId || '').replace(/^spoke\//, ''),
    severity: m.fatal || m.severity === 2 ? 'error' : 'warning',
    line: m.line || 1,
    column: m.column || 1,
    message: m.fatal ? m.message.replace(/^Parsing error: /, '') + ': the code does not parse; fix the syntax first.' : m.message,
  }));
}

const rl = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
rl.on('line', (line) => {
  let req;
  try {
    req = JSON.parse(line);
  } catch (e) {
    process.stdout.write(JSON.stringify({ id: null, error: 'bad request: ' + e.message }) + '\n');
    return;
  }
  let out;
  try {
    out = { id: req.id, findings: lint(req) };
  } catch (e) {
    out = { id: req.id, error: String(e && e.stack || e) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
});
rl.on('close', () => process.exit(0));
