/**
 * Stream, subject and durable names in one place. A prefix isolates tests (a fresh stream per test) and
 * lets several citysoc instances share one NATS account without colliding.
 */
export interface BusNames {
  eventsStream: string;
  alertsStream: string;
  deadletterStream: string;
  eventsSubject(kind: string, transport: string): string;
  eventsWildcard: string;
  alertsSubject(level: string): string;
  alertsWildcard: string;
  deadletterSubject(app: string, reason: string): string;
  deadletterWildcard: string;
  durable(name: string): string;
}

const SAFE_TOKEN = /[^A-Za-z0-9_-]/g;

export function busNames(prefix = ''): BusNames {
  if (/[.*>\s]/.test(prefix))
    throw new Error(`stream prefix must not contain '.', '*', '>' or spaces: ${prefix}`);
  const p = prefix;
  const tok = (s: string) => s.replace(SAFE_TOKEN, '_') || '_';
  return {
    eventsStream: `${p}EVENTS`,
    alertsStream: `${p}ALERTS`,
    deadletterStream: `${p}DEADLETTER`,
    eventsSubject: (kind, transport) => `${p}events.${tok(kind)}.${tok(transport)}`,
    eventsWildcard: `${p}events.>`,
    alertsSubject: (level) => `${p}alerts.${tok(level)}`,
    alertsWildcard: `${p}alerts.>`,
    deadletterSubject: (app, reason) => `${p}deadletter.${tok(app)}.${tok(reason)}`,
    deadletterWildcard: `${p}deadletter.>`,
    durable: (name) => `${p}${tok(name)}`,
  };
}
