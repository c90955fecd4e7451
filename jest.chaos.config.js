// The chaos suite (`npm run test:chaos`): real engines killed under load, run in band after `npm test`.
// Kept out of the main projects so `npm test` stays fast; it needs the built apps (`npm run build`).
const main = require('./jest.config.js');

const base = { ...main.projects[0] };
delete base.displayName;
delete base.testMatch;

module.exports = {
  ...base,
  displayName: 'chaos',
  testMatch: ['<rootDir>/test/chaos/**/*.chaos.ts'],
};
