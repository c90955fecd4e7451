// Maps tsconfig "paths" to jest's moduleNameMapper so both read one source of truth.
const path = require('node:path');
const tsconfig = require('../tsconfig.json');

function pathsToModuleNameMapper() {
  const out = {};
  for (const [alias, [target]] of Object.entries(tsconfig.compilerOptions.paths)) {
    out[`^${alias.replace('/', '\\/')}$`] = path.join('<rootDir>', target);
  }
  return out;
}
module.exports = { pathsToModuleNameMapper };
