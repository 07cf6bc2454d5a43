export * from './casper-network';
export * from './network';
