import path from 'node:path';
import { loadConfig } from '@citysoc/config';
import { repoRoot } from '@citysoc/testing';
import { groupingPolicy, responderSchema } from './config';

describe('the responder grouping policy', () => {
  const file = path.join(repoRoot(), 'deploy', 'grouping.example.yml');
  it.each([
    [
      'defaults with the window variable',
      {},
      { keys: ['rule', 'entity'], windowMs: 20 * 60_000, reopen: 'reopen' },
    ],
    ['the example YAML file', { CITYSOC_GROUPING_FILE: file }, { keys: ['entity'], windowMs: 15 * 60_000 }],
    [
      'the variable on top of the file',
      { CITYSOC_GROUPING_FILE: file, CITYSOC_GROUPING: 'keys=entity+unit;reopen=attach' },
      { keys: ['entity', 'unit'], windowMs: 15 * 60_000, reopen: 'attach' },
    ],
  ])('%s', (_n, env, expected) => {
    const c = loadConfig(responderSchema, { CITYSOC_INCIDENT_WINDOW_MINUTES: '20', ...env });
    expect(groupingPolicy(c)).toMatchObject(expected);
  });
  it.each([
    [{ CITYSOC_GROUPING_FILE: '/nonexistent/grouping.yml' }, /CITYSOC_GROUPING_FILE/],
    [{ CITYSOC_GROUPING: 'keys=host' }, /CITYSOC_GROUPING/],
    [{ CITYSOC_NOTIFY_WEBHOOK_URLS: 'ftp://x' }, /CITYSOC_NOTIFY_WEBHOOK_URLS/],
    [{ CITYSOC_SLA_POLICY: 'hanoi/x:urgent=1/1' }, /CITYSOC_SLA_POLICY/],
  ])('refuses %j at start', (env, msg) => expect(() => loadConfig(responderSchema, env)).toThrow(msg));
});
