export * from './config-bucket';
