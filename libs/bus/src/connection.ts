import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, type NatsConnection } from 'nats';

export interface BusConnectOptions {
  servers: string;
  name: string;
  credsFile?: string;
}

/** Connects and keeps reconnecting forever: a SOC pipeline must ride out a NATS restart, not exit. */
export async function connectBus(opts: BusConnectOptions): Promise<NatsConnection> {
  return connect({
    servers: opts.servers.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    ...(opts.credsFile ? { authenticator: credsAuthenticator(readFileSync(opts.credsFile)) } : {}),
  });
}
