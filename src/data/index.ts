export * from './casper-node-keys';
