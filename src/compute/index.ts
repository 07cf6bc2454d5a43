export * from './casper-node-instance-options';
export * from './casper-node-group';
