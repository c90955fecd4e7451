import { logsourcePredicate } from './logsource';

const syslog = (program: string) => ({ event: { module: 'syslog' }, process: { name: program } });

describe('logsourcePredicate', () => {
  it.each([
    ['linux/sshd applies to sshd lines', { product: 'linux', service: 'sshd' }, syslog('sshd'), true],
    ['linux/sshd does not apply to sudo lines', { product: 'linux', service: 'sshd' }, syslog('sudo'), false],
    ['linux/auth applies to sudo lines', { product: 'linux', service: 'auth' }, syslog('sudo'), true],
    ['linux without service applies to any syslog line', { product: 'linux' }, syslog('kernel'), true],
    ['service syslog applies to any syslog line', { service: 'syslog' }, syslog('x'), true],
    ['citysoc rules apply to syslog lines', { product: 'citysoc' }, syslog('x'), true],
    [
      'linux/sshd does not apply to flow records',
      { product: 'linux', service: 'sshd' },
      { event: { module: 'netflow' }, process: { name: 'sshd' } },
      false,
    ],
    [
      'citysoc/flow applies to flow records',
      { product: 'citysoc', service: 'flow' },
      { event: { dataset: 'flow' }, flow: { options_data: false } },
      true,
    ],
    [
      'citysoc network_connection applies to flow records',
      { product: 'citysoc', category: 'network_connection' },
      { event: { dataset: 'flow' }, flow: { options_data: false } },
      true,
    ],
    [
      'citysoc/flow does not apply to flow options data',
      { product: 'citysoc', service: 'flow' },
      { event: { dataset: 'flow' }, flow: { options_data: true } },
      false,
    ],
    ['citysoc/flow does not apply to syslog', { product: 'citysoc', service: 'flow' }, syslog('flow'), false],
    [
      'citysoc rules without service do not apply to flows',
      { product: 'citysoc' },
      { event: { dataset: 'flow', module: 'netflow' } },
      false,
    ],
  ])('%s', (_n, ls, event, expected) => {
    const p = logsourcePredicate(ls);
    expect(p).not.toBeNull();
    expect(p!(event)).toBe(expected);
  });

  it.each([
    ['windows rules', { product: 'windows', service: 'security' }],
    [
      'linux process_creation (auditd/sysmon, not syslog)',
      { product: 'linux', category: 'process_creation' },
    ],
    ['an unknown linux service', { product: 'linux', service: 'nonexistent' }],
  ])('does not apply %s to syslog', (_n, ls) => {
    expect(logsourcePredicate(ls)).toBeNull();
  });
});
