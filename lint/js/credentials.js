'use strict';
// credentials.js: what a hard-coded credential looks like. The patterns are
// the published formats of the tokens custom code most often holds; the
// name test catches the rest (const apiKey = '...').

const PATTERNS = [
  { re: /\bpat-(na|eu|ap)\d*-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i, what: 'HubSpot private app token' },
  { re: /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/i, what: 'HubSpot API key (hapikey)', needsName: true },
  { re: /\bsk-(proj-|ant-)?[A-Za-z0-9_-]{20,}/, what: 'OpenAI/Anthropic API key' },
  { re: /\b(sk|rk)_live_[A-Za-z0-9]{16,}/, what: 'Stripe secret key' },
  { re: /\bAKIA[0-9A-Z]{16}\b/, what: 'AWS access key id' },
  { re: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/, what: 'GitHub token' },
  { re: /\bxox[abprs]-[A-Za-z0-9-]{10,}/, what: 'Slack token' },
  { re: /\bAIza[0-9A-Za-z_-]{35}\b/, what: 'Google API key' },
  { re: /\bSG\.[A-Za-z0-9_-]{16,}\.[A-Za-z0-9_-]{16,}/, what: 'SendGrid API key' },
  { re: /\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, what: 'JSON Web Token' },
  { re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/, what: 'private key' },
  { re: /\bBearer\s+[A-Za-z0-9._~+/=-]{16,}/, what: 'bearer token' },
  { re: /\bBasic\s+[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/])/, what: 'basic-auth credentials' },
  { re: /^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]{3,}@/i, what: 'password in a URL' },
];

const SECRET_NAME = /(api[_-]?key|apikey|hapikey|secret|token|passw(or)?d|passwd|pwd|private[_-]?key|credential|auth)$/i;
const NOT_SECRET_NAME = /(url|uri|endpoint|name|type|field|header|env|var|path|id|count|length|expir\w*|ttl)$/i;
const PLACEHOLDER = /(your|xxx|example|placeholder|changeme|dummy|<|>|\*\*\*|\{\{|\$\{)/i;

// credentialIn returns what kind of credential a string literal holds, or
// null. name is the variable, property or parameter name it is assigned to
// (or '').
function credentialIn(value, name) {
  if (typeof value !== 'string' || value.length < 6) return null;
  for (const p of PATTERNS) {
    if (p.needsName && !(name && SECRET_NAME.test(name))) continue;
    if (p.re.test(value)) return p.what;
  }
  if (name && SECRET_NAME.test(name) && !NOT_SECRET_NAME.test(name) && value.length >= 8 && !/\s/.test(value) &&
      !/^[A-Z][A-Z0-9_]*$/.test(value) && !PLACEHOLDER.test(value) && !/^(https?:|\/)/.test(value)) {
    return 'secret in "' + name + '"';
  }
  return null;
}

// mask shows enough of a credential to find it, not enough to use it.
function mask(value) {
  return value.length <= 8 ? '…' : value.slice(0, Math.min(6, Math.floor(value.length / 4))) + '…';
}

module.exports = { credentialIn, mask, SECRET_NAME };
