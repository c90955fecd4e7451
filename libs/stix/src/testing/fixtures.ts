import { type Alert, type EcsEvent } from '@citysoc/ecs';
import { type IncidentReportInput, type ReportableIncident } from '../minimise';
import { type Reporter } from '../reporter';

export const REPORTER: Reporter = {
  key: 'test-city-soc',
  name: 'Test City SOC',
  contact: 'soc-duty@city.example',
  since: '2026-01-01T00:00:00Z',
};

export const SIGMA_YAML = `# Tuned by Pham Quoc Bao after the 10.20.9.9 outage
title: SSH brute force from single source
id: 5f0e8c2a-8f55-4e2b-9d0c-6b1f6c9a1e01
status: test
author: Nguyen Van Minh (minh.nv@city.example)
description: Many failed SSH logins from one source; excludes the jump host 10.20.0.5
logsource:
  product: linux
  service: sshd
detection:
  selection:
    event.action: ssh_login
    event.outcome: failure
  filter:
    source.ip: 10.20.0.5 # jump host of Tran Van Cuong
  condition: selection and not filter
level: high
`;

export function event(over: Partial<EcsEvent> = {}): EcsEvent {
  return {
    '@timestamp': '2026-11-27T07:41:12.000Z',
    message: 'Failed password for invalid user tranthib from 203.0.113.45 port 52100 ssh2 on web-hn-01',
    event: {
      id: 'ev1',
      created: '2026-11-27T07:41:13.000Z',
      original: '<38>Nov 27 07:41:12 web-hn-01 sshd[811]: Failed password for tranthib from 203.0.113.45',
      action: 'ssh_login',
      outcome: 'failure',
    },
    host: { hostname: 'web-hn-01', ip: ['10.20.1.15'] },
    source: { ip: '203.0.113.45', port: 52100 },
    destination: { ip: '10.20.1.15', port: 22 },
    network: { transport: 'tcp', protocol: 'ssh' },
    user: { name: 'tranthib' },
    related: { ip: ['203.0.113.45', '10.20.1.15'], user: ['tranthib'], hosts: ['web-hn-01'] },
    citysoc: {
      destination_unit: {
        id: 'u-finance',
        name: 'Department of Finance',
        path: ['city', 'u-finance'],
        criticality: 'high',
      },
    },
    ...over,
  };
}

export function alert(ev: EcsEvent, n = 0): Alert {
  return {
    id: `al${n}`,
    '@timestamp': ev['@timestamp'],
    created_at: '2026-11-27T07:59:00.000Z',
    rule: {
      id: '5f0e8c2a-8f55-4e2b-9d0c-6b1f6c9a1e01',
      title: 'SSH brute force from single source',
      level: 'high',
      version: '3',
      description: 'Many failed SSH logins from one source',
      author: 'Nguyen Van Minh',
      references: ['https://attack.mitre.org/techniques/T1110/', 'https://intranet.example/wiki?token=abc'],
    },
    entity: 'source.ip:203.0.113.45',
    event_ids: [ev.event.id],
    event: ev,
  };
}

/** With a store-only field (`grouping_reason`) that must never reach a report. */
export function incident(over: Partial<ReportableIncident> = {}): ReportableIncident {
  return {
    id: '7c9e6679a1b2c3d4e5f60718293a4b5c',
    title: 'SSH brute force from single source — 10.20.1.15 (web-hn-01, user tranthib)',
    severity: 'high',
    status: 'in_progress',
    entity: 'source.ip:203.0.113.45',
    alert_count: 412,
    first_seen: '2026-11-27T07:41:12.000Z',
    last_seen: '2026-11-27T07:58:40.000Z',
    created_at: '2026-11-27T08:00:00.000Z',
    updated_at: '2026-11-27T08:05:00.000Z',
    assignee: 'Le Thi Hoa',
    // Not part of ReportableIncident: the privacy test proves it does not leak even when passed along.
    ...{
      group_key: '5f0e8c2a|source.ip:203.0.113.45',
      grouping_reason: 'same rule and source.ip 203.0.113.45 within 30 min; host web-hn-01 10.20.1.15',
    },
    ...over,
  };
}

export function reportInput(over: Partial<IncidentReportInput> = {}): IncidentReportInput {
  const e1 = event();
  const e2 = event({
    '@timestamp': '2026-11-27T07:58:40.000Z',
    event: { id: 'ev2', created: '2026-11-27T07:58:41.000Z', action: 'ssh_login', outcome: 'failure' },
    source: { ip: '198.51.100.7', domain: 'scanner.bad.example.net', user: { name: 'root' } },
  });
  return {
    incident: incident(),
    alerts: [alert(e1, 1), alert(e2, 2)],
    category: 'intrusion-attempts:brute-force',
    sigmaRules: { '5f0e8c2a-8f55-4e2b-9d0c-6b1f6c9a1e01': SIGMA_YAML },
    form03: {
      summary: 'Brute force against web-hn-01 (10.20.1.15) by account tranthib; contact minh.nv@city.example',
      systemName: 'City finance portal',
      systemSecurityLevel: 3,
      handled: false,
      detectionMethods: ['ids'],
      notifiedParties: ['coordinating-body'],
      evidenceAvailable: ['system-logs'],
    },
    ...over,
  };
}
