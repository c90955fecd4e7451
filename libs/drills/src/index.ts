export * from './scenario';
export * from './plan';
export * from './prng';
export * from './encode';
