import { ConfigError, loadConfig } from './schema';
import { bool, int, list, port, url } from './options';

const schema = {
  port: port({ env: 'T_PORT', description: 'a port', default: 3000 }),
  batch: int({ env: 'T_BATCH', description: 'batch', default: 10, min: 1 }),
  on: bool({ env: 'T_ON', description: 'flag', default: false }),
  paths: list({ env: 'T_PATHS', description: 'paths', default: [], separator: ':' }),
  nats: url({ env: 'T_NATS', description: 'nats', protocols: ['nats'] }),
};

describe('loadConfig', () => {
  it('applies defaults and parses typed values', () => {
    const c = loadConfig(schema, { T_NATS: 'nats://h:1', T_PATHS: '/a:/b', T_ON: 'yes' });
    expect(c).toEqual({ port: 3000, batch: 10, on: true, paths: ['/a', '/b'], nats: 'nats://h:1' });
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every invalid option at once', () => {
    let err: unknown;
    try {
      loadConfig(schema, { T_PORT: '70000', T_BATCH: 'x', T_ON: 'maybe', T_NATS: 'http://h' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const problems = (err as ConfigError).problems;
    expect(problems).toHaveLength(4);
    expect(problems.join('\n')).toMatch(/T_PORT.*<= 65535/);
    expect(problems.join('\n')).toMatch(/T_BATCH.*integer/);
    expect(problems.join('\n')).toMatch(/T_ON.*true or false/);
    expect(problems.join('\n')).toMatch(/T_NATS.*nats URL/);
  });

  it('reports a missing required option with its description', () => {
    expect(() => loadConfig(schema, {})).toThrow(/T_NATS is required: nats/);
  });
});
