import { readFileSync } from 'node:fs';
import { connect, credsAuthenticator, nkeyAuthenticator, type NatsConnection } from 'nats';

export interface BusConnectOptions {
  servers: string;
  name: string;
  /** A .creds file (JWT + nkey seed) for decentralised auth (operator/accounts). */
  credsFile?: string;
  /** A file holding a user nkey seed (SU…) for server-configured nkey users. */
  nkeySeedFile?: string;
  /** TLS: CA to verify the servers, and an optional client certificate/key for mutual TLS. */
  tlsCaFile?: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

/** Connects and keeps reconnecting forever: a SOC pipeline must ride out a NATS restart, not exit. */
export async function connectBus(opts: BusConnectOptions): Promise<NatsConnection> {
  const tls =
    opts.tlsCaFile || opts.tlsCertFile
      ? {
          ...(opts.tlsCaFile ? { caFile: opts.tlsCaFile } : {}),
          ...(opts.tlsCertFile ? { certFile: opts.tlsCertFile } : {}),
          ...(opts.tlsKeyFile ? { keyFile: opts.tlsKeyFile } : {}),
        }
      : undefined;
  return connect({
    servers: opts.servers.split(',').map((s) => s.trim()),
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 500,
    waitOnFirstConnect: true,
    ...(opts.credsFile ? { authenticator: credsAuthenticator(readFileSync(opts.credsFile)) } : {}),
    ...(!opts.credsFile && opts.nkeySeedFile
      ? {
          authenticator: nkeyAuthenticator(
            new TextEncoder().encode(readFileSync(opts.nkeySeedFile, 'utf8').trim()),
          ),
        }
      : {}),
    ...(tls ? { tls } : {}),
  });
}
