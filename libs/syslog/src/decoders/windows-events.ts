import { type EcsEvent } from '@citysoc/ecs';
import { addRelatedHost, addRelatedUser, endpoint, setAddr, toInt, toPort } from './util';

/**
 * What the Windows forwarders (Snare, NXLog, Winlogbeat) share once their own framing is read: the event id
 * categorized as Elastic's windows/system integrations do, and the usual EventData fields mapped to ECS.
 */

type Outcome = 'success' | 'failure';
interface Kind {
  category: string[];
  type: string[];
  action: string;
  outcome?: Outcome;
}

const auth = (type: string[], action: string, outcome?: Outcome): Kind => ({
  category: ['authentication'],
  type,
  action,
  ...(outcome ? { outcome } : {}),
});
const iam = (type: string[], action: string): Kind => ({
  category: ['iam'],
  type,
  action,
  outcome: 'success',
});

/** Security-log event ids (and a few System ones) by what they mean. */
export const WINDOWS_EVENTS: Record<string, Kind> = {
  '4624': auth(['start'], 'logged-in', 'success'),
  '4625': auth(['start'], 'logon-failed', 'failure'),
  '4634': auth(['end'], 'logged-out', 'success'),
  '4647': auth(['end'], 'logged-out', 'success'),
  '4648': auth(['start'], 'logged-in-explicit', 'success'),
  '4672': { category: ['iam'], type: ['admin'], action: 'logged-in-special', outcome: 'success' },
  '4740': iam(['user', 'change'], 'locked-out-user-account'),
  '4768': auth(['start'], 'kerberos-authentication-ticket-requested'),
  '4769': auth(['start'], 'kerberos-service-ticket-requested'),
  '4771': auth(['start'], 'kerberos-preauth-failed', 'failure'),
  '4776': auth(['start'], 'credential-validated'),
  '4688': { category: ['process'], type: ['start'], action: 'created-process', outcome: 'success' },
  '4689': { category: ['process'], type: ['end'], action: 'exited-process', outcome: 'success' },
  '4697': { category: ['iam', 'configuration'], type: ['admin', 'change'], action: 'service-installed' },
  '7045': { category: ['configuration'], type: ['change'], action: 'service-installed' },
  '4698': {
    category: ['iam', 'configuration'],
    type: ['creation', 'admin'],
    action: 'scheduled-task-created',
  },
  '4720': iam(['user', 'creation'], 'added-user-account'),
  '4722': iam(['user', 'change'], 'enabled-user-account'),
  '4723': iam(['user', 'change'], 'changed-password'),
  '4724': iam(['user', 'change'], 'reset-password'),
  '4725': iam(['user', 'change'], 'disabled-user-account'),
  '4726': iam(['user', 'deletion'], 'deleted-user-account'),
  '4738': iam(['user', 'change'], 'modified-user-account'),
  '4728': iam(['group', 'change'], 'added-member-to-group'),
  '4732': iam(['group', 'change'], 'added-member-to-group'),
  '4756': iam(['group', 'change'], 'added-member-to-group'),
  '4729': iam(['group', 'change'], 'removed-member-from-group'),
  '4733': iam(['group', 'change'], 'removed-member-from-group'),
  '4757': iam(['group', 'change'], 'removed-member-from-group'),
  '1102': { category: ['iam'], type: ['admin', 'change'], action: 'audit-log-cleared', outcome: 'success' },
  '4719': { category: ['iam', 'configuration'], type: ['admin', 'change'], action: 'changed-audit-config' },
  '5156': {
    category: ['network'],
    type: ['connection', 'allowed'],
    action: 'network-connection-allowed',
    outcome: 'success',
  },
  '5157': {
    category: ['network'],
    type: ['connection', 'denied'],
    action: 'network-connection-blocked',
    outcome: 'failure',
  },
  '4608': { category: ['host'], type: ['start'], action: 'windows-started' },
};

/** EventData, whatever the forwarder called the keys (NXLog flattens them, Winlogbeat nests them). */
export interface WinData {
  eventId: string;
  provider?: string;
  channel?: string;
  computer?: string;
  recordId?: number;
  /** Audit Success / Audit Failure (Snare "Success Audit"), when the forwarder says. */
  auditOutcome?: Outcome;
  data: Record<string, string | undefined>;
}

const NONE = new Set(['', '-', 'N/A', '::1', '127.0.0.1']);
const present = (v: string | undefined): v is string => v !== undefined && !NONE.has(v);

/** Fills the ECS fields every Windows forwarder format shares. */
export function mapWindowsEvent(event: EcsEvent, w: WinData): void {
  const e = event.event;
  e.code = w.eventId;
  if (w.provider) e.provider = w.provider;
  const kind = WINDOWS_EVENTS[w.eventId];
  if (kind) {
    e.category = kind.category;
    e.type = kind.type;
    e.action = kind.action;
    if (kind.outcome) e.outcome = kind.outcome;
  }
  if (w.auditOutcome) e.outcome = w.auditOutcome;
  const winlog: Record<string, unknown> = { event_id: w.eventId };
  if (w.channel) winlog.channel = w.channel;
  if (w.provider) winlog.provider_name = w.provider;
  if (w.computer) winlog.computer_name = w.computer;
  if (w.recordId !== undefined) winlog.record_id = w.recordId;
  const d = w.data;
  if (present(d.LogonType)) winlog.logon = { type: d.LogonType };
  (event as Record<string, unknown>).winlog = winlog;
  if (w.computer) {
    event.host = { ...event.host, hostname: w.computer };
    addRelatedHost(event, w.computer);
  }

  // user.* is the account the event is about (who logged on, the account created); when someone else acted
  // (4648 explicit credentials, an admin creating a user) that subject goes to user.effective.
  const target = d.TargetUserName;
  const subject = d.SubjectUserName;
  const isLogon = kind?.category[0] === 'authentication';
  const userName = present(target) ? target : present(subject) ? subject : undefined;
  if (userName) {
    const domain = present(target) ? d.TargetDomainName : d.SubjectDomainName;
    const id = present(target) ? d.TargetUserSid : d.SubjectUserSid;
    event.user = {
      ...event.user,
      name: userName,
      ...(present(domain) ? { domain } : {}),
      ...(present(id) ? { id } : {}),
    };
    addRelatedUser(event, userName);
  }
  // For a logon on behalf of someone else (4648) or a change by an admin, the subject is who acted.
  if (present(subject) && present(target) && subject !== target && !subject.endsWith('$')) {
    (event.user as Record<string, unknown>).effective = {
      name: subject,
      ...(present(d.SubjectDomainName) ? { domain: d.SubjectDomainName } : {}),
    };
    addRelatedUser(event, subject);
  }
  const ip = d.IpAddress ?? d.SourceAddress ?? d.SourceNetworkAddress;
  if (present(ip)) setAddr(event, 'source', ip, toPort(d.IpPort ?? d.SourcePort));
  if (present(d.DestAddress)) setAddr(event, 'destination', d.DestAddress, toPort(d.DestPort));
  if (present(d.WorkstationName)) endpoint(event, 'source').domain = d.WorkstationName;
  if (isLogon && present(d.WorkstationName)) addRelatedHost(event, d.WorkstationName);
  const exe = d.NewProcessName ?? d.ProcessName ?? d.Application;
  const pid = d.NewProcessId ?? d.ProcessId;
  if (present(exe) || present(pid)) {
    const p: Record<string, unknown> = {};
    if (present(exe)) {
      p.executable = exe;
      p.name = exe.slice(exe.lastIndexOf('\\') + 1);
    }
    const n = present(pid) ? (pid.startsWith('0x') ? parseInt(pid.slice(2), 16) : toInt(pid)) : undefined;
    if (n !== undefined && Number.isFinite(n)) p.pid = n;
    if (present(d.CommandLine)) p.command_line = d.CommandLine;
    event.process = p;
  }
}
