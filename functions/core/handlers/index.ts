// The handlers every host shares, one module per activity: each decodes a target's wire payload (wire.ts)
// into the protocol message (protocol.ts) and runs it on the ports. The embedded engine, the Azure
// activities and the test stand-ins of AWS and GCP wrap these; the Lambda / Cloud Run entry points will too.
// Schedule fires and webhook deliveries are host-neutral already (functions/core/triggers/): every host
// calls the Scheduler and acceptWebhook there.
export * from './answers.js';
export * from './approval-close.js';
export * from './approval-decision.js';
export * from './approval-request.js';
export * from './notify.js';
export * from './quorum.js';
export * from './step.js';
export * from './tool-call.js';
export * from './visits.js';
export * from './waits.js';
