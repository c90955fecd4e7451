import { type EcsEvent } from '@citysoc/ecs';
import { lastStamp, readTimestampAt } from '../rfc3164';
import { type DecodeContext, type SyslogDecoder, type SyslogFields } from '../types';
import { parseCefExtension } from './cef';
import {
  addRelatedUser,
  claimEndpoints,
  ecsMac,
  endpoint,
  indexWithin,
  setAddr,
  setNat,
  setTimestamp,
  toInt,
  toPort,
  transport,
} from './util';

/**
 * IBM QRadar LEEF 1.0 (`LEEF:1.0|Vendor|Product|Version|EventID|k=v<TAB>k=v`) and 2.0, whose sixth header
 * field names the attribute delimiter: one character, or hex as `x09` / `0x5E` / `^`. Predefined keys
 * (src, dst, srcPort, usrName, srcPostNAT, devTime…) map to ECS as Elastic's QRadar/LEEF pipelines do.
 */

function delimiterOf(spec: string): string {
  if (spec.length === 1) return spec;
  const hex = /^(?:0?x|\\x)([0-9a-fA-F]{2,4})$/.exec(spec);
  if (hex !== null) return String.fromCharCode(parseInt(hex[1]!, 16));
  if (spec === '\\t') return '\t';
  return '\t';
}

function split(s: string, start: number, count: number): { parts: string[]; end: number } {
  const parts: string[] = [];
  let i = start;
  while (parts.length < count) {
    const bar = s.indexOf('|', i);
    if (bar < 0) return { parts, end: -1 };
    parts.push(s.slice(i, bar));
    i = bar + 1;
  }
  return { parts, end: i };
}

function decode(fields: Readonly<SyslogFields>, event: EcsEvent, ctx: DecodeContext): boolean {
  const s = fields.msgPart;
  const at = indexWithin(s, 'LEEF:', 128);
  if (at < 0 || (at > 0 && s.charCodeAt(at - 1) !== 0x20)) return false;
  const v2 = s.startsWith('LEEF:2', at);
  const head = split(s, at + 5, v2 ? 6 : 5);
  let parts = head.parts;
  let end = head.end;
  if (end < 0) {
    // LEEF 2.0 may omit the delimiter field (tab is the default); LEEF 1.0 may end right after EventID.
    if (parts.length !== (v2 ? 5 : 4)) return false;
    const tail = s.slice(s.lastIndexOf('|') + 1);
    parts = [...parts, tail];
    end = s.length;
  }
  const [, vendor, product, version, eventId] = parts as [string, string, string, string, string];
  let delimiter = '\t';
  if (v2) {
    const spec = parts[5] ?? '';
    // A missing delimiter field makes the attributes the sixth field; fall back to tab.
    if (spec.indexOf('=') >= 0) end -= spec.length + 1;
    else if (spec !== '') delimiter = delimiterOf(spec);
  }
  const body = s.slice(end);
  let attrs: Record<string, string> = {};
  // LEEF 1.0 says tab, but PAN-OS separates with `|` and others with spaces; use what the body has.
  const d = body.indexOf(delimiter) >= 0 ? delimiter : body.indexOf('|') >= 0 ? '|' : ' ';
  if (d === ' ') attrs = parseCefExtension(body, 0);
  else {
    for (const pair of body.split(d)) {
      const eq = pair.indexOf('=');
      if (eq > 0) attrs[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }

  claimEndpoints(event);
  // `host CEF:0|…` made the envelope take the format name for a program TAG.
  if (fields.appname === 'LEEF') event.process = undefined;
  event.message = s.slice(at);
  event.observer = { ...event.observer, vendor, product, ...(version !== '' ? { version } : {}) };
  event.event.code = eventId;
  event.event.kind = 'event';
  if (eventId !== '') event.event.action = eventId;
  (event as Record<string, unknown>).leef = {
    version: v2 ? '2.0' : '1.0',
    vendor,
    product,
    product_version: version,
    event_id: eventId,
    attributes: attrs,
  };

  setAddr(event, 'source', attrs.src ?? attrs.srcPreNAT, toPort(attrs.srcPort ?? attrs.srcPreNATPort));
  setAddr(event, 'destination', attrs.dst ?? attrs.dstPreNAT, toPort(attrs.dstPort ?? attrs.dstPreNATPort));
  setNat(event, 'source', attrs.srcPostNAT, toPort(attrs.srcPostNATPort));
  setNat(event, 'destination', attrs.dstPostNAT, toPort(attrs.dstPostNATPort));
  const user = attrs.usrName ?? attrs.accountName ?? attrs.suser;
  if (user !== undefined && user !== '') {
    event.user = { ...event.user, name: user };
    if (event.source !== undefined) event.source.user = { name: user };
    addRelatedUser(event, user);
  }
  if (attrs.proto !== undefined) transport(event, attrs.proto.toLowerCase());
  const sm = ecsMac(attrs.srcMAC);
  if (sm !== undefined) endpoint(event, 'source').mac = sm;
  const dm = ecsMac(attrs.dstMAC);
  if (dm !== undefined) endpoint(event, 'destination').mac = dm;
  const sb = toInt(attrs.srcBytes);
  if (sb !== undefined) endpoint(event, 'source').bytes = sb;
  const db = toInt(attrs.dstBytes);
  if (db !== undefined) endpoint(event, 'destination').bytes = db;
  const sp = toInt(attrs.srcPackets);
  if (sp !== undefined) endpoint(event, 'source').packets = sp;
  const dp = toInt(attrs.dstPackets);
  if (dp !== undefined) endpoint(event, 'destination').packets = dp;
  const sev = toInt(attrs.sev);
  if (sev !== undefined) event.event.severity = sev;
  if (attrs.identHostName !== undefined) endpoint(event, 'source').domain = attrs.identHostName;
  if (attrs.url !== undefined) (event as Record<string, unknown>).url = { original: attrs.url };
  if (attrs.action !== undefined && attrs.action !== '') {
    event.event.action = attrs.action;
    const a = attrs.action.toLowerCase();
    if (/^(allow|accept|permit|pass)/.test(a)) event.event.outcome = 'success';
    else if (/^(deny|drop|block|reject|reset)/.test(a)) event.event.outcome = 'failure';
  }
  const t = attrs.devTime;
  if (t !== undefined) {
    const ms = /^\d{10,13}$/.test(t)
      ? t.length === 13
        ? Number(t)
        : Number(t) * 1000
      : readTimestampAt(t, 0, ctx.timeZone, ctx.receivedMs) >= 0
        ? lastStamp.ms
        : Date.parse(t);
    if (Number.isFinite(ms)) setTimestamp(event, ms);
  }
  return true;
}

export const leefDecoder: SyslogDecoder = { name: 'leef', decode };
