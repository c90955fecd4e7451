import { readFileSync } from 'node:fs';
import path from 'node:path';
import { envExample } from './env-example';

it('.env.example matches the config schemas (regenerate with npm run env:example)', () => {
  const committed = readFileSync(path.resolve(__dirname, '..', '.env.example'), 'utf8');
  expect(committed).toBe(envExample());
});
