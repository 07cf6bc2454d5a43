export * from './casper-network';
export * from './network';
export * from './compute';
export * from './storage';
export * from './data';
export * from './monitoring';
export * from './casper-read-only-node-props';
export * from './casper-read-only-node';
