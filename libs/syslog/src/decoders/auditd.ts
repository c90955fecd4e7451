import { type EcsEvent } from '@citysoc/ecs';
import { type SyslogDecoder, type SyslogFields } from '../types';
import { addRelatedUser, claimEndpoints, parseKv, setAddr, setTimestamp, toInt } from './util';

/**
 * Linux audit records (auditd via audisp-syslog, or the kernel's `audit: type=1400 audit(…)` lines):
 * `type=USER_LOGIN msg=audit(1732700000.123:456): pid=… uid=… auid=… msg='op=login acct="alice" … res=failed'`.
 * Categorized as Elastic's auditd integration does; the record serial becomes event.sequence.
 */

type Kind = [category: string[], type: string[], action: string];

const TYPES: Record<string, Kind> = {
  USER_LOGIN: [['authentication'], ['start'], 'logged-in'],
  USER_LOGOUT: [['authentication'], ['end'], 'logged-out'],
  USER_AUTH: [['authentication'], ['info'], 'authenticated'],
  USER_ACCT: [['authentication'], ['info'], 'was-authorized'],
  USER_ERR: [['authentication'], ['info'], 'error'],
  CRED_ACQ: [['authentication'], ['info'], 'acquired-credentials'],
  CRED_DISP: [['authentication'], ['info'], 'disposed-credentials'],
  CRED_REFR: [['authentication'], ['info'], 'refreshed-credentials'],
  USER_START: [['session'], ['start'], 'started-session'],
  USER_END: [['session'], ['end'], 'ended-session'],
  USER_CMD: [['process'], ['start'], 'ran-command'],
  EXECVE: [['process'], ['start'], 'executed'],
  SYSCALL: [['process'], ['info'], 'syscall'],
  ADD_USER: [['iam'], ['user', 'creation'], 'added-user-account'],
  DEL_USER: [['iam'], ['user', 'deletion'], 'deleted-user-account'],
  ADD_GROUP: [['iam'], ['group', 'creation'], 'added-group-account'],
  DEL_GROUP: [['iam'], ['group', 'deletion'], 'deleted-group-account'],
  USER_MGMT: [['iam'], ['user', 'change'], 'modified-user-account'],
  GRP_MGMT: [['iam'], ['group', 'change'], 'modified-group-account'],
  USER_CHAUTHTOK: [['iam'], ['user', 'change'], 'changed-password'],
  ROLE_ASSIGN: [['iam'], ['user', 'change'], 'assigned-user-role-to'],
  SERVICE_START: [['process'], ['start'], 'started-service'],
  SERVICE_STOP: [['process'], ['end'], 'stopped-service'],
  DAEMON_START: [['process'], ['start'], 'started-audit'],
  DAEMON_END: [['process'], ['end'], 'stopped-audit'],
  CONFIG_CHANGE: [['configuration'], ['change'], 'changed-audit-configuration'],
  AVC: [['intrusion_detection'], ['denied'], 'violated-selinux-policy'],
  ANOM_ABEND: [['process'], ['end'], 'crashed-program'],
  ANOM_PROMISCUOUS: [['network'], ['change'], 'changed-promiscuous-mode-on-device'],
  ANOM_LOGIN_FAILURES: [['authentication'], ['info'], 'failed-log-in-too-many-times-to'],
  SYSTEM_BOOT: [['host'], ['start'], 'booted-system'],
  SYSTEM_SHUTDOWN: [['host'], ['end'], 'shutdown-system'],
};

/** Kernel lines carry the numeric type (include/uapi/linux/audit.h). */
const NUMERIC: Record<string, string> = {
  '1100': 'USER_AUTH',
  '1101': 'USER_ACCT',
  '1105': 'USER_START',
  '1106': 'USER_END',
  '1112': 'USER_LOGIN',
  '1113': 'USER_LOGOUT',
  '1123': 'USER_CMD',
  '1130': 'SERVICE_START',
  '1131': 'SERVICE_STOP',
  '1300': 'SYSCALL',
  '1305': 'CONFIG_CHANGE',
  '1309': 'EXECVE',
  '1400': 'AVC',
  '1700': 'ANOM_PROMISCUOUS',
  '1701': 'ANOM_ABEND',
};

const HEADER = /(?:^|\s)type=(\w+) (?:msg=)?audit\((\d{9,11})(?:\.(\d{1,3})\d*)?:(\d+)\):\s?/;
const UNSET = new Set(['?', '(none)', '-1', '4294967295', 'unset', '']);

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  const s = fields.msgPart;
  const at = s.indexOf('audit(');
  if (at < 0 || at > 200) return false;
  const h = HEADER.exec(s.slice(0, at + 40));
  if (h === null) return false;
  const rawType = h[1]!;
  const type = NUMERIC[rawType] ?? rawType;
  const body = s.slice((h.index ?? 0) + h[0].length);
  // The user-space part sits in msg='…'; the kernel part before it. Both are key=value.
  const inner = /msg='([^']*)'/.exec(body);
  const kv = parseKv(inner === null ? body : body.slice(0, inner.index));
  if (inner !== null) parseKv(inner[1]!, 0, kv);
  for (const k in kv) if (kv[k]!.startsWith('"') && kv[k]!.endsWith('"')) kv[k] = kv[k]!.slice(1, -1);

  claimEndpoints(event);
  const ms = Number(h[2]) * 1000 + Number((h[3] ?? '0').padEnd(3, '0'));
  setTimestamp(event, ms);
  const e = event.event;
  (e as Record<string, unknown>).sequence = Number(h[4]);
  e.action = type.toLowerCase();
  const kind = TYPES[type];
  if (kind !== undefined) {
    e.category = kind[0];
    e.type = kind[1];
    e.action = kind[2];
  }
  if (type === 'AVC' && kv.apparmor !== undefined) e.action = 'violated-apparmor-policy';
  const res = kv.res ?? kv.success ?? kv.result;
  if (res === 'success' || res === 'yes') e.outcome = 'success';
  else if (res === 'failed' || res === 'no' || res === 'fail') e.outcome = 'failure';
  else if (kv.apparmor === 'DENIED') e.outcome = 'failure';

  const auditd: Record<string, unknown> = { message_type: type.toLowerCase(), sequence: Number(h[4]) };
  if (kv.ses !== undefined && !UNSET.has(kv.ses)) auditd.session = kv.ses;
  if (kv.terminal !== undefined && !UNSET.has(kv.terminal)) auditd.terminal = kv.terminal;
  if (kv.key !== undefined && !UNSET.has(kv.key)) auditd.key = kv.key;
  if (kv.op !== undefined) auditd.op = kv.op;
  if (kv.syscall !== undefined) auditd.syscall = kv.syscall;
  (event as Record<string, unknown>).auditd = auditd;

  const user: Record<string, unknown> = {};
  const name = kv.acct ?? kv.UID;
  if (name !== undefined && !UNSET.has(name)) {
    user.name = name;
    addRelatedUser(event, name);
  }
  if (kv.uid !== undefined && !UNSET.has(kv.uid)) user.id = kv.uid;
  if (kv.auid !== undefined && !UNSET.has(kv.auid)) user.audit = { id: kv.auid };
  // euid ≠ uid: the process acted with another identity (setuid, sudo); ECS user.effective.
  if (kv.euid !== undefined && !UNSET.has(kv.euid) && kv.euid !== kv.uid) user.effective = { id: kv.euid };
  if (kv.id !== undefined && !UNSET.has(kv.id) && type.endsWith('_USER')) user.target = { id: kv.id };
  if (Object.keys(user).length > 0) event.user = { ...event.user, ...user };

  const proc: Record<string, unknown> = {};
  const pid = toInt(kv.pid);
  if (pid !== undefined) proc.pid = pid;
  const ppid = toInt(kv.ppid);
  if (ppid !== undefined) proc.parent = { pid: ppid };
  if (kv.exe !== undefined && !UNSET.has(kv.exe)) {
    proc.executable = kv.exe;
    proc.name = kv.exe.slice(kv.exe.lastIndexOf('/') + 1);
  }
  if (kv.comm !== undefined && !UNSET.has(kv.comm)) proc.name = kv.comm;
  if (kv.cmd !== undefined && /^[0-9A-F]+$/.test(kv.cmd) && kv.cmd.length % 2 === 0)
    proc.command_line = Buffer.from(kv.cmd, 'hex').toString('utf8');
  else if (kv.cmd !== undefined) proc.command_line = kv.cmd;
  if (Object.keys(proc).length > 0) event.process = proc;

  const addr = kv.addr;
  if (addr !== undefined && !UNSET.has(addr)) setAddr(event, 'source', addr);
  if (kv.hostname !== undefined && !UNSET.has(kv.hostname) && kv.hostname !== addr)
    (event.source ??= {}).domain = kv.hostname;
  return true;
}

export const auditdDecoder: SyslogDecoder = { name: 'auditd', decode };
