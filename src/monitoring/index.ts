export * from './alert-topic';
