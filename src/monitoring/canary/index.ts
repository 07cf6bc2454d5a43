// Entry point of the canary bundle (`projen bundle:canary`): the Synthetics runtime
// loads nodejs/node_modules/casper-canary.js and calls its `handler` export.
// Not re-exported from src/monitoring/index.ts: jsii must not see it.
export { handler } from './handler';
