export * from './scenario';
export * from './plan';
export * from './prng';
export * from './encode';
export * from './tagging';
export * from './registry';
