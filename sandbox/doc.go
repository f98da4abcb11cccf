// Package sandbox runs HubSpot-style custom code actions, in Node.js and
// Python, inside bubblewrap sandboxes kept warm in a [Pool].
//
// The contract is HubSpot's: Node code exports main(event, callback) and
// calls callback({outputFields}) or returns {outputFields}; Python code
// defines main(event) and returns {"outputFields": ...}; the event is
// {origin: {portalId, actionDefinitionId}, object: {objectType, objectId},
// inputFields, callbackId}; the action's secrets are its only environment
// variables. Results are delivered once the Node event loop has drained.
//
// Each worker is one interpreter in its own bubblewrap sandbox: no network
// route (HTTP(S) leaves only through the egress proxy of package
// sandbox/egress, over a Unix socket), a read-only root with only /usr and
// the bootstrap, a private size-limited /tmp, a cleared environment, no
// capabilities, a seccomp filter, new namespaces and session, memory and
// process limits from cgroup v1 where available. Failures are classified
// ([ErrTimeout], [ErrMemoryLimit], [ErrUncaught], [ErrOutputTooLarge],
// [ErrInvalidOutput], [ErrRateLimited], [ErrEgressDenied], [ErrSyntax],
// [ErrRuntimeCrash]); only rate-limit failures are retryable.
//
// Workers are bound to one action version, account and secret set, so module
// state persists between invocations of that version only; spare unbound
// workers are kept started so that a new version does not wait for an
// interpreter. See docs/sandbox.md for the design and its limits.
package sandbox
