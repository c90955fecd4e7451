import { exporterFromToken, exporterToken, factsKey, parseKey, templateKey } from './kv-templates';

describe('flow template store keys', () => {
  it.each(['10.0.0.1', '2001:db8::1', '::1', 'fe80::a:b:c:d'])(
    'round-trips exporter %s through a KV token',
    (ip) => {
      const token = exporterToken(ip);
      expect(token).toMatch(/^[-_a-zA-Z0-9]+$/);
      expect(exporterFromToken(token)).toBe(ip);
    },
  );

  it.each([
    [{ exporter: '10.0.0.1', version: 9 as const, domain: 0 }, 256],
    [{ exporter: '2001:db8::7', version: 10 as const, domain: 4_294_967_295 }, 65_535],
  ])('reads back the scope and template id from a template key (%j, %i)', (scope, id) => {
    expect(parseKey(templateKey(scope, id))).toEqual({ kind: 't', scope, templateId: id });
    expect(parseKey(factsKey(scope))).toEqual({ kind: 'f', scope });
  });

  it.each(['t.9.0.256', 't.5.0.256.10_0_0_1', 'x.9.0.10_0_0_1', 't.9.a.256.10_0_0_1', 'f.10.0'])(
    'ignores a foreign key %s',
    (key) => {
      expect(parseKey(key)).toBeUndefined();
    },
  );
});
