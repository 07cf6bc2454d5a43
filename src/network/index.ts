export * from './casper-vpc';
export * from './casper-node-security-group';
export * from './casper-elastic-ip';
export * from './ssh-access';
export * from './open-vpn-server';
