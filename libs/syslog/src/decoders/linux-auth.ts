import { type EcsEvent } from '@citysoc/ecs';
import { type SyslogDecoder, type SyslogFields } from '../types';
import { addRelatedHost, addRelatedUser, claimEndpoints, setAddr, setUser, toPort } from './util';

/**
 * Linux authentication and service lines (sshd, sudo, su, PAM, unix_chkpwd, useradd/groupadd, systemd), as
 * Elastic's system integration (auth and syslog data streams) categorizes them. Keyed on the program name
 * from the syslog TAG, so only those programs pay for the matching.
 */

type Outcome = 'success' | 'failure';

function classify(
  event: EcsEvent,
  category: string[] | undefined,
  type: string[] | undefined,
  outcome?: Outcome,
  action?: string,
): void {
  if (category !== undefined) event.event.category = category;
  if (type !== undefined) event.event.type = type;
  if (outcome !== undefined) event.event.outcome = outcome;
  if (action !== undefined) event.event.action = action;
}

const SSH_ACCEPTED = /^Accepted (\S+) for (\S+) from (\S+) port (\d+)/;
const SSH_FAILED = /^Failed (\S+) for (?:invalid user )?(\S+) from (\S+) port (\d+)/;
const SSH_INVALID = /^[Ii]nvalid user (\S*) from (\S+)(?: port (\d+))?/;
const SSH_FROM = /(?:from|by) (?:(?:invalid |authenticating )?user (\S+) )?([0-9A-Fa-f.:]+)(?: port (\d+))?/;
const PAM_SESSION =
  /^pam_unix\([^)]*\): session (opened|closed) for user (\S+?)(?:\(uid=\d+\))?(?: by (\S*?)(?:\(uid=\d+\))?)?$/;
const PAM_AUTH_FAIL = /^pam_unix\([^)]*\): authentication failure;.*?(?: rhost=(\S*))?(?: user=(\S+))?$/;
const FAILLOCK =
  /^pam_faillock\([^)]*\): Consecutive login failures for user (\S+) account temporarily locked/;
const CHKPWD = /^password check failed for user \(([^)]*)\)/;
const SUDO = /^\s*(\S+) : (?:(.*?) ; )?(?:TTY=\S+ ; )?PWD=\S+ ; USER=(\S+) ;(?: GROUP=\S+ ;)? COMMAND=(.*)$/;
const SU = /^(?:\(to (\S+)\) (\S+) on \S+|(Successful|FAILED) su for (\S+) by (\S+))/;
const NEW_USER = /^new user: name=([^,]+), UID=(\d+), GID=(\d+)/;
const NEW_GROUP = /^new group: name=([^,]+), GID=(\d+)/;
const DEL_USER = /^delete user '([^']+)'/;
const SYSTEMD = /^(Started|Stopped|Starting|Stopping|Failed to start) (.*)$/;

function sshd(m: string, event: EcsEvent): void {
  let r = SSH_ACCEPTED.exec(m);
  if (r !== null) {
    classify(
      event,
      ['authentication', 'session'],
      ['authentication_success', 'info'],
      'success',
      'ssh_login',
    );
    login(event, r[2], r[3], r[4], r[1]);
    return;
  }
  r = SSH_FAILED.exec(m);
  if (r !== null) {
    classify(event, ['authentication'], ['authentication_failure', 'info'], 'failure', 'ssh_login');
    login(event, r[2], r[3], r[4], r[1]);
    return;
  }
  r = SSH_INVALID.exec(m);
  if (r !== null) {
    classify(event, ['authentication'], ['authentication_failure', 'info'], 'failure', 'ssh_login');
    login(event, r[1], r[2], r[3]);
    return;
  }
  if (pam(m, event)) return;
  r = SSH_FROM.exec(m);
  if (r !== null) {
    claimEndpoints(event);
    setAddr(event, 'source', r[2], toPort(r[3]));
    if (r[1] !== undefined) setUser(event, r[1]);
  }
}

function login(
  event: EcsEvent,
  user: string | undefined,
  ip: string | undefined,
  port?: string,
  method?: string,
): void {
  claimEndpoints(event);
  setUser(event, user);
  setAddr(event, 'source', ip, toPort(port));
  if (method !== undefined) (event as Record<string, unknown>).system = { auth: { ssh: { method } } };
}

function pam(m: string, event: EcsEvent): boolean {
  if (!m.startsWith('pam_')) return false;
  let r = FAILLOCK.exec(m);
  if (r !== null) {
    classify(event, ['authentication'], ['info'], 'failure', 'account-locked');
    setUser(event, r[1]);
    return true;
  }
  r = PAM_SESSION.exec(m);
  if (r !== null) {
    const opened = r[1] === 'opened';
    classify(event, ['session'], [opened ? 'start' : 'end'], 'success', opened ? 'logged-in' : 'logged-out');
    setUser(event, r[2]);
    if (r[3] !== undefined && r[3] !== '') addRelatedUser(event, r[3]);
    return true;
  }
  r = PAM_AUTH_FAIL.exec(m);
  if (r !== null) {
    classify(event, ['authentication'], ['info'], 'failure');
    claimEndpoints(event);
    setAddr(event, 'source', r[1]);
    setUser(event, r[2]);
    return true;
  }
  return false;
}

function sudo(m: string, event: EcsEvent): void {
  const r = SUDO.exec(m);
  if (r === null) {
    pam(m, event);
    return;
  }
  setUser(event, r[1]);
  const target = r[3]!;
  (event.user as Record<string, unknown>).effective = { name: target };
  addRelatedUser(event, target);
  event.process = { ...event.process, command_line: r[4] };
  if (r[2] !== undefined && /NOT in sudoers|incorrect password|not allowed/.test(r[2])) {
    classify(event, ['process'], ['start'], 'failure');
  } else {
    classify(event, ['process'], ['start']);
  }
}

const SU_FAILED = /^'su (\S+)' failed for (\S+) on/;

function su(m: string, event: EcsEvent): void {
  const f = SU_FAILED.exec(m);
  if (f !== null) {
    classify(event, ['authentication'], ['info'], 'failure');
    setUser(event, f[2]);
    (event.user as Record<string, unknown>).effective = { name: f[1] };
    addRelatedUser(event, f[1]);
    return;
  }
  const r = SU.exec(m);
  if (r === null) {
    pam(m, event);
    return;
  }
  if (r[1] !== undefined) {
    classify(event, ['authentication'], ['info'], 'success');
    setUser(event, r[2]);
    (event.user as Record<string, unknown>).effective = { name: r[1] };
    addRelatedUser(event, r[1]);
    return;
  }
  classify(event, ['authentication'], ['info'], r[3] === 'Successful' ? 'success' : 'failure');
  setUser(event, r[5]);
  (event.user as Record<string, unknown>).effective = { name: r[4] };
  addRelatedUser(event, r[4]);
}

function accounts(m: string, event: EcsEvent): void {
  let r = NEW_USER.exec(m);
  if (r !== null) {
    classify(event, ['iam'], ['user', 'creation'], 'success');
    setUser(event, r[1]);
    event.user!.id = r[2];
    (event as Record<string, unknown>).group = { id: r[3] };
    return;
  }
  r = NEW_GROUP.exec(m);
  if (r !== null) {
    classify(event, ['iam'], ['group', 'creation'], 'success');
    (event as Record<string, unknown>).group = { name: r[1], id: r[2] };
    return;
  }
  r = DEL_USER.exec(m);
  if (r !== null) {
    classify(event, ['iam'], ['user', 'deletion'], 'success');
    setUser(event, r[1]);
  }
}

function systemd(m: string, event: EcsEvent): void {
  const r = SYSTEMD.exec(m);
  // Targets and slices are unit groupings, not services; Elastic only labels service starts and stops.
  if (r === null || /^(target|slice) /.test(r[2]!)) return;
  if (r[1] === 'Started') classify(event, ['process'], ['start'], undefined, 'service-start');
  else if (r[1] === 'Stopped') classify(event, ['process'], ['end'], undefined, 'service-stop');
  else if (r[1] === 'Failed to start') classify(event, ['process'], ['start'], 'failure', 'service-start');
}

type Handler = (m: string, event: EcsEvent) => void;

// A Map, so that a TAG such as `constructor` finds nothing on the prototype.
const HANDLERS = new Map<string, Handler>(
  Object.entries({
    sshd,
    'sshd-session': sshd,
    sudo,
    su,
    login: (m: string, e: EcsEvent) => void pam(m, e),
    unix_chkpwd: (m: string, event: EcsEvent) => {
      const r = CHKPWD.exec(m);
      if (r === null) return;
      classify(event, ['authentication'], ['info'], 'failure');
      setUser(event, r[1]);
    },
    useradd: accounts,
    groupadd: accounts,
    userdel: accounts,
    systemd,
    'systemd-logind': (m: string, e: EcsEvent) => void pam(m, e),
    cron: (m: string, e: EcsEvent) => void pam(m, e),
    CRON: (m: string, e: EcsEvent) => void pam(m, e),
  } satisfies Record<string, Handler>),
);

function decode(fields: Readonly<SyslogFields>, event: EcsEvent): boolean {
  const app = fields.appname;
  if (app === undefined) return false;
  const handler = HANDLERS.get(app);
  if (handler === undefined) return false;
  event.event.kind = 'event';
  handler(fields.message, event);
  addRelatedHost(event, event.host?.hostname);
  return true;
}

export const linuxAuthDecoder: SyslogDecoder = { name: 'linux_auth', decode };
