export * from './alert-topic';
export * from './casper-node-metrics';
export * from './casper-agent-config';
export * from './casper-canary';
export * from './casper-alarms';
export * from './casper-dashboard';
export * from './casper-fleet-dashboard';
export * from './casper-rpc-probe';
