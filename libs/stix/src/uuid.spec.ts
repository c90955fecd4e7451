import { scoId } from './ids';
import { isUuid, uuidv5 } from './uuid';

describe('uuidv5', () => {
  it('matches the RFC 4122 / Python uuid5 vector for the DNS namespace', () => {
    expect(uuidv5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });

  it('sets version 5 and the RFC 4122 variant', () => {
    const u = uuidv5('anything', '6ba7b810-9dad-11d1-80b4-00c04fd430c8');
    expect(isUuid(u)).toBe(true);
    expect(u[14]).toBe('5');
    expect('89ab').toContain(u[19]);
  });

  it('rejects a malformed namespace', () => {
    expect(() => uuidv5('x', 'not-a-uuid')).toThrow(/not a UUID/);
  });

  it('derives SCO ids as STIX 2.1 §2.9 prescribes (values cross-checked with Python uuid5)', () => {
    expect(scoId('ipv4-addr', { value: '203.0.113.45' })).toBe(
      'ipv4-addr--cb9d70c5-d244-531c-9efb-bcae57adc793',
    );
    expect(scoId('domain-name', { value: 'ăn.vn' })).toBe(
      'domain-name--148f80c5-a63d-5523-9e72-ea2bc6c906ea',
    );
  });
});
