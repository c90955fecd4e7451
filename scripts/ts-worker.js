// Runs a TypeScript worker_threads entry from source (jest and ts checkouts): swc strips the types, the
// tsconfig "paths" resolve @citysoc/* — what the build (tsc + tsc-alias) does for dist/. Not used in dist.
const Module = require('node:module');
const path = require('node:path');
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const { transformSync } = require('@swc/core');
const tsconfig = require('../tsconfig.json');

const root = path.join(__dirname, '..');
const aliases = Object.entries(tsconfig.compilerOptions.paths).map(([a, [t]]) => [a, path.join(root, t)]);
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  for (const [alias, target] of aliases) if (request === alias) return resolve.call(this, target, ...rest);
  return resolve.call(this, request, ...rest);
};
require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(fs.readFileSync(filename, 'utf8'), {
    filename,
    jsc: {
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
      target: 'es2022',
    },
    module: { type: 'commonjs' },
  });
  module._compile(code, filename);
};
require(workerData.tsEntry);
