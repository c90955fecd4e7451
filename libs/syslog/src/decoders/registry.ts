import { type SyslogDecoder } from '../types';
import { cefDecoder } from './cef';
import { checkpointDecoder } from './checkpoint';
import { ciscoAsaDecoder } from './cisco-asa';
import { ciscoIosDecoder } from './cisco-ios';
import { fortigateDecoder } from './fortigate';
import { iptablesDecoder } from './iptables';
import { junosDecoder } from './junos';
import { leefDecoder } from './leef';
import { linuxAuthDecoder } from './linux-auth';
import { panosDecoder } from './panos';
import { pfsenseDecoder } from './pfsense';
import { sonicwallDecoder } from './sonicwall';
import { auditdDecoder } from './auditd';
import { huaweiVrpDecoder } from './huawei-vrp';
import { mikrotikDecoder } from './mikrotik';
import { snareDecoder } from './snare';
import { windowsJsonDecoder } from './windows-json';

/**
 * Auto-detection order. Formats with an unambiguous marker (`CEF:`, `LEEF:`, `%ASA-`) come first; decoders
 * keyed on a program name or a loose shape come last so they cannot shadow a vendor format.
 */
export const DEFAULT_DECODERS: readonly SyslogDecoder[] = [
  cefDecoder,
  leefDecoder,
  snareDecoder,
  ciscoAsaDecoder,
  ciscoIosDecoder,
  fortigateDecoder,
  sonicwallDecoder,
  junosDecoder,
  checkpointDecoder,
  huaweiVrpDecoder,
  panosDecoder,
  pfsenseDecoder,
  iptablesDecoder,
  auditdDecoder,
  linuxAuthDecoder,
  mikrotikDecoder,
  windowsJsonDecoder,
];

/** The decoder a listener or the CLI pins by name (`--format cef`), or undefined. */
export function decoderByName(name: string): SyslogDecoder | undefined {
  return DEFAULT_DECODERS.find((d) => d.name === name);
}
