export * from './config-bucket';
export * from './data-volume-lifecycle';
export * from './snapshot-rotation';
