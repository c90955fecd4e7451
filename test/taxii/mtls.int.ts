import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type ReportSettings, taxiiClientOf } from '@citysoc/reports';
import { TaxiiClient, TaxiiError, isRetryable } from '@citysoc/stix';
import { TaxiiTestServer } from './server';

/** A throw-away CA, server and client certificate, made with the openssl CLI (skipped where absent). */
function makePki(
  dir: string,
): Record<'ca' | 'serverKey' | 'serverCert' | 'clientKey' | 'clientCert' | 'otherCa', Buffer> {
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ossl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=test-ca', '-days', '2');
  ossl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'other.key',
    '-out',
    'other.crt',
    '-subj',
    '/CN=other-ca',
    '-days',
    '2',
  );
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  for (const [name, ext] of [
    ['server', ['-extfile', 'san.ext']],
    ['client', []],
  ] as const) {
    ossl('req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ossl(
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      ...ext,
    );
  }
  const f = (n: string): Buffer => readFileSync(path.join(dir, n));
  return {
    ca: f('ca.crt'),
    otherCa: f('other.crt'),
    serverKey: f('server.key'),
    serverCert: f('server.crt'),
    clientKey: f('client.key'),
    clientCert: f('client.crt'),
  };
}

let hasOpenssl = true;
try {
  execFileSync('openssl', ['version'], { stdio: 'pipe' });
} catch {
  hasOpenssl = false;
  console.warn('mTLS test skipped: no openssl CLI to make certificates');
}

(hasOpenssl ? describe : describe.skip)('TaxiiClient over mutual TLS', () => {
  let dir: string;
  let pki: ReturnType<typeof makePki>;
  let s: TaxiiTestServer;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'citysoc-mtls-'));
    pki = makePki(dir);
    s = await TaxiiTestServer.start({ tls: { key: pki.serverKey, cert: pki.serverCert, ca: pki.ca } });
  });
  afterAll(async () => {
    await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const client = (tls: ConstructorParameters<typeof TaxiiClient>[0]['tls']): TaxiiClient =>
    new TaxiiClient({ apiRootUrl: s.apiRootUrl, user: 'reporter', password: 'secret', tls });

  it('connects with a client certificate and the pinned CA', async () => {
    expect(s.apiRootUrl.startsWith('https://')).toBe(true);
    const root = await client({ ca: pki.ca, cert: pki.clientCert, key: pki.clientKey }).apiRoot();
    expect(root.versions).toEqual(['application/taxii+json;version=2.1']);
  });

  it('fails, without retry, when the server certificate is not from the pinned CA', async () => {
    const err = await client({ ca: pki.otherCa, cert: pki.clientCert, key: pki.clientKey })
      .apiRoot()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaxiiError);
    expect(err).toMatchObject({ code: 'tls_error' });
    expect(isRetryable(err)).toBe(false);
  });

  it('is refused by the server without a client certificate', async () => {
    const err = await client({ ca: pki.ca })
      .apiRoot()
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaxiiError);
    // TLS 1.3 reports the server's refusal after the handshake: an alert, or a reset on some builds.
    expect(['tls_error', 'network_error']).toContain((err as TaxiiError).code);
    expect(s.requests).not.toContainEqual(
      expect.objectContaining({ status: 200, path: '/api1/', bodyBytes: -1 }),
    );
  });

  it('takes the client certificate, key and CA from the configured file paths (CITYSOC_TAXII_CLIENT_CERT/KEY/CA)', async () => {
    const settings = {
      taxiiUrl: s.apiRootUrl,
      taxiiUser: 'reporter',
      taxiiPassword: 'secret',
      taxiiClientCert: path.join(dir, 'client.crt'),
      taxiiClientKey: path.join(dir, 'client.key'),
      taxiiCa: path.join(dir, 'ca.crt'),
    } as ReportSettings;
    const root = await taxiiClientOf(settings).apiRoot();
    expect(root.max_content_length).toBeGreaterThan(0);
  });
});
