import { type INestApplication } from '@nestjs/common';
import { type ControlStore, type IncidentStore } from '@citysoc/store';
import { startTestApi, type TestApi } from '@citysoc/testing';
import { REPORT_OUTBOX } from './tokens';
import { type ReportOutbox } from '@citysoc/reports';

describe('reports in the API', () => {
  const adminToken = `csk_admin_${'y'.repeat(30)}`;
  let api: TestApi;
  let app: INestApplication;
  let control: ControlStore;
  let incidents: IncidentStore;
  let lead: string;
  let analyst: string;
  let incidentId: string;

  beforeAll(async () => {
    api = await startTestApi({ adminToken, name: 'api-reports' });
    ({ app, control, incidents } = api);
    incidentId = (
      await incidents.recordAlert(
        {
          id: 'a1',
          '@timestamp': '2026-11-27T03:00:00Z',
          created_at: '2026-11-27T03:00:01Z',
          rule: { id: 'r1', title: 'Test rule on 10.0.0.1', level: 'medium', version: 'v1' },
          entity: 'source.ip:10.0.0.1',
          event_ids: ['e1'],
          event: {
            '@timestamp': '2026-11-27T03:00:00Z',
            event: { id: 'e1', created: '2026-11-27T03:00:00Z' },
          },
        },
        60_000,
      )
    ).incident.id;
    const issue = api.issueToken;
    lead = await issue('a.lead', 'lead');
    analyst = await issue('an.analyst', 'analyst');
  }, 30_000);

  afterAll(async () => {
    await app.get<ReportOutbox>(REPORT_OUTBOX).queue.obliterate({ force: true });
    await api.close();
  });

  const http = () => api.http();

  it('previews the report as STIX and as the Vietnamese form, without internal addresses', async () => {
    const stix = await http()
      .get(`/api/v1/reports/incidents/${incidentId}/preview`)
      .set('authorization', `Bearer ${lead}`)
      .expect(200);
    expect(stix.headers['content-type']).toContain('application/stix+json');
    expect((stix.body as { objects: Array<{ type: string }> }).objects.map((o) => o.type)).toContain(
      'incident',
    );
    expect(JSON.stringify(stix.body)).not.toContain('10.0.0.1');
    const md = await http()
      .get(`/api/v1/reports/incidents/${incidentId}/preview?format=md&download=1`)
      .set('authorization', `Bearer ${lead}`)
      .expect(200);
    expect(md.headers['content-disposition']).toContain('attachment');
    expect(md.text).toContain('BÁO CÁO BAN ĐẦU SỰ CỐ MẠNG');
    expect(md.text).not.toContain('10.0.0.1');
    const html = await http()
      .get(`/api/v1/reports/incidents/${incidentId}/preview?format=html`)
      .set('authorization', `Bearer ${lead}`)
      .expect(200);
    expect(html.text).toContain('<html lang="vi">');
  });

  it('lets a lead (not an analyst) report an incident; the request is audited and the version listed', async () => {
    await http()
      .post(`/api/v1/reports/incidents/${incidentId}/send`)
      .set('authorization', `Bearer ${analyst}`)
      .expect(403);
    const sent = await http()
      .post(`/api/v1/reports/incidents/${incidentId}/send`)
      .set('authorization', `Bearer ${lead}`)
      .expect(202);
    const body = sent.body as { id: string; state: string; trigger: string };
    expect(body).toMatchObject({ state: 'pending', trigger: 'lead:a.lead' });
    expect(control.audit.list(10).some((e) => e.action === 'report.request' && e.actor === 'a.lead')).toBe(
      true,
    );
    const outbox = await http()
      .get('/api/v1/reports/versions?state=pending')
      .set('authorization', `Bearer ${analyst}`)
      .expect(200);
    expect((outbox.body as Array<{ id: string }>).map((v) => v.id)).toContain(body.id);
    const v = await http()
      .get(`/api/v1/reports/versions/${body.id}?format=html`)
      .set('authorization', `Bearer ${analyst}`)
      .expect(200);
    expect(v.text).toContain('Mẫu số 03');
    await http().get('/api/v1/reports/deliveries').set('authorization', `Bearer ${analyst}`).expect(200);
    expect(await app.get<ReportOutbox>(REPORT_OUTBOX).queue.getJob(body.id)).toBeDefined();
  });

  it('validates annotations: RSIT category and form fields', async () => {
    await http()
      .put(`/api/v1/reports/incidents/${incidentId}/annotations`)
      .set('authorization', `Bearer ${lead}`)
      .send({ category: 'not-a-category' })
      .expect(400);
    await http()
      .put(`/api/v1/reports/incidents/${incidentId}/annotations`)
      .set('authorization', `Bearer ${lead}`)
      .send({ form03: { password: 'x' } })
      .expect(400);
    const ok = await http()
      .put(`/api/v1/reports/incidents/${incidentId}/annotations`)
      .set('authorization', `Bearer ${lead}`)
      .send({ category: 'intrusion-attempts:brute-force', form03: { systemSecurityLevel: 3, handled: true } })
      .expect(200);
    expect(ok.body).toMatchObject({
      category: 'intrusion-attempts:brute-force',
      form03: { systemSecurityLevel: 3 },
    });
  });
});
