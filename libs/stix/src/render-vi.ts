import { CITYSOC_EXTENSION_ID, INCIDENT_CORE_EXTENSION_ID } from './extension';
import { TLP_MARKING_IDS } from './tlp';
import { type StixBundle } from './types';

/**
 * Mẫu số 03 (Circular 20/2017/TT-BTTTT, "Báo cáo ban đầu sự cố mạng") rendered from a built incident
 * bundle, never from the incident itself: what a person reads is exactly what was (or will be) sent, already
 * minimised, so the human channel (e-mail "[TBSC] …", print) cannot leak more than TAXII does.
 */
export interface FormViModel {
  title: string;
  reportNumber: string;
  reporter: { name: string; contact: string };
  operatorUnits: string[];
  ownerAgency?: string;
  systemName?: string;
  systemLevel?: number;
  securityProvider?: string;
  connectivityProvider?: string;
  summary: string;
  detectedAt: string;
  handled: boolean;
  detection: string[];
  notified: string[];
  operatingSystems: string[];
  services: string[];
  controls: string[];
  publicIps: string[];
  domains: string[];
  indicators: string[];
  purpose?: string;
  evidence: string[];
  confidential: boolean;
  supportRequested?: string;
  responseSummary?: string;
  reportedAt: string;
  tlp: string;
  exercise: boolean;
  category: string;
  severity: string;
}

const NOTIFIED_VI: Record<string, string> = {
  'network-member': 'Thành viên mạng lưới chịu trách nhiệm ứng cứu sự cố',
  isp: 'ISP đang trực tiếp cung cấp dịch vụ',
  'coordinating-body': 'Cơ quan điều phối',
};

const EVIDENCE_VI: Record<string, string> = {
  'system-logs': 'Nhật ký hệ thống',
  'malware-sample': 'Mẫu virus / mã độc',
  other: 'Khác',
};

const SEVERITY_VI: Record<string, string> = {
  informational: 'Thông tin',
  low: 'Thấp',
  medium: 'Trung bình',
  high: 'Cao',
  critical: 'Nghiêm trọng',
};

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}
function strs(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** dd/mm/yyyy hh:mm in the given time zone (the form is filled in local time; Hanoi by default). */
export function formatViDate(iso: string, timeZone = 'Asia/Ho_Chi_Minh'): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const parts = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).formatToParts(d);
  const p = (t: string): string => parts.find((x) => x.type === t)?.value ?? '';
  return `${p('day')}/${p('month')}/${p('year')} ${p('hour')}:${p('minute')}`;
}

export class FormRenderError extends Error {
  readonly code = 'not_an_incident_bundle';
}

/** Reads the form's fields out of a bundle built by `buildFromMinimised`. */
export function formViModel(bundle: StixBundle, extensionId = CITYSOC_EXTENSION_ID): FormViModel {
  const byId = new Map(bundle.objects.map((o) => [o.id, o]));
  const incident = bundle.objects.find((o) => o.type === 'incident');
  const report = bundle.objects.find((o) => o.type === 'report');
  if (!incident || !report) throw new FormRenderError('the bundle holds no incident report');
  const exts = (incident['extensions'] ?? {}) as Record<string, Record<string, unknown>>;
  const ext = exts[extensionId] ?? {};
  const core = exts[INCIDENT_CORE_EXTENSION_ID] ?? {};
  const reporter = byId.get(String(incident['created_by_ref']));
  const sightings = bundle.objects.filter((o) => o.type === 'sighting');
  const units = new Set<string>();
  for (const s of sightings)
    for (const r of strs(s['where_sighted_refs'])) {
      const u = byId.get(r);
      if (u && u.id !== reporter?.id && str(u['name'])) units.add(String(u['name']));
    }
  for (const o of bundle.objects)
    if (o.type === 'identity' && o.id !== reporter?.id && str(o['name'])) units.add(String(o['name']));
  const indicators = bundle.objects.filter((o) => o.type === 'indicator');
  const observed = bundle.objects.find((o) => o.type === 'observed-data');
  const observedRefs = new Set(strs(observed?.['object_refs']));
  const indicatorValues = new Set(
    indicators
      .filter((i) => i['pattern_type'] === 'stix')
      .map((i) => /=\s*'([^']*)'/.exec(String(i['pattern']))?.[1])
      .filter((v): v is string => v !== undefined),
  );
  // E4/E5 list the affected system's own public addresses: observed, but not indicators of the attacker.
  const own = bundle.objects.filter(
    (o) =>
      observedRefs.has(o.id) && typeof o['value'] === 'string' && !indicatorValues.has(String(o['value'])),
  );
  const marking = strs(incident['object_marking_refs'])[0];
  const tlp = (
    Object.entries(TLP_MARKING_IDS).find(([, id]) => id === marking)?.[0] ?? 'amber'
  ).toUpperCase();
  const detection = strs(core['detection_methods']).map((d) =>
    d.startsWith('sigma-rule:')
      ? `Qua hệ thống phát hiện xâm nhập (luật Sigma ${d.slice('sigma-rule:'.length)})`
      : d === 'ids'
        ? 'Qua hệ thống phát hiện xâm nhập'
        : d === 'log-review'
          ? 'Kiểm tra dữ liệu lưu lại (Log File)'
          : d.startsWith('notified-by:')
            ? `Nhận được thông báo từ: ${d.slice('notified-by:'.length)}`
            : `Khác, đó là: ${d}`,
  );
  return {
    title: str(incident['name']) ?? '',
    reportNumber: str(ext['report_number']) ?? str(incident['name']) ?? '',
    reporter: {
      name: str(reporter?.['name']) ?? '',
      contact: str(reporter?.['contact_information']) ?? '',
    },
    operatorUnits: [...units].sort(),
    ownerAgency: str(ext['owner_agency']),
    systemName: str(ext['system_name']),
    systemLevel: typeof ext['system_security_level'] === 'number' ? ext['system_security_level'] : undefined,
    securityProvider: str(ext['security_provider']),
    connectivityProvider: str(ext['connectivity_provider']),
    summary: str(incident['description']) ?? '',
    detectedAt: str(ext['detected_at']) ?? '',
    handled: ext['handled'] === true,
    detection,
    notified: strs(ext['notified_parties']).map((n) => NOTIFIED_VI[n] ?? n),
    operatingSystems: strs(ext['operating_systems']),
    services: strs(ext['services']),
    controls: strs(ext['security_controls']),
    publicIps: own.filter((o) => o.type !== 'domain-name').map((o) => String(o['value'])),
    domains: own.filter((o) => o.type === 'domain-name').map((o) => String(o['value'])),
    indicators: indicators.map((i) =>
      i['pattern_type'] === 'sigma'
        ? `Sigma: ${(str(i['name']) ?? '').replace(/^Sigma: /, '')}`
        : String(i['pattern']),
    ),
    purpose: str(ext['system_purpose']),
    evidence: strs(ext['evidence_available']).map((e) => EVIDENCE_VI[e] ?? e),
    confidential: ext['confidential'] === true,
    supportRequested: str(ext['support_requested']),
    responseSummary: str(ext['response_summary']),
    reportedAt: str(report['published']) ?? str(report['modified']) ?? '',
    tlp: `TLP:${tlp}`,
    exercise: ext['exercise'] === true,
    category: `${str(ext['rsit_category']) ?? ''} (${str(ext['vn_category']) ?? ''})`,
    severity: SEVERITY_VI[str(ext['severity']) ?? ''] ?? str(ext['severity']) ?? '',
  };
}

function box(on: boolean): string {
  return on ? '☒' : '☐';
}

/** Lines of (label, value) per section: Markdown and HTML are two renderings of the same list. */
function sections(m: FormViModel, timeZone: string): Array<{ title: string; rows: Array<[string, string]> }> {
  const none = '—';
  const list = (xs: string[]): string => (xs.length ? xs.join('; ') : none);
  const level = [1, 2, 3, 4, 5].map((l) => `${box(m.systemLevel === l)} Cấp độ ${l}`).join('  ');
  return [
    {
      title: 'THÔNG TIN VỀ TỔ CHỨC/CÁ NHÂN BÁO CÁO SỰ CỐ',
      rows: [
        ['Tên tổ chức/cá nhân báo cáo sự cố (*)', m.reporter.name],
        ['Địa chỉ, điện thoại, email (*)', m.reporter.contact],
      ],
    },
    {
      title: 'NGƯỜI LIÊN HỆ',
      // A role, not a person: personal names never leave in a report (policy), the duty desk answers.
      rows: [['Họ và tên / Chức vụ (*)', `Trực ban SOC (đầu mối liên hệ) — ${m.reporter.contact}`]],
    },
    {
      title: 'THÔNG TIN CHI TIẾT VỀ HỆ THỐNG BỊ SỰ CỐ',
      rows: [
        ['Tên đơn vị vận hành hệ thống thông tin (*)', list(m.operatorUnits)],
        ['Cơ quan chủ quản', m.ownerAgency ?? none],
        [
          'Tên hệ thống bị sự cố (tên miền, địa chỉ IP liên quan)',
          [m.systemName, ...m.domains, ...m.publicIps].filter(Boolean).join('; ') || none,
        ],
        ['Phân loại cấp độ của hệ thống thông tin', level],
        ['Tổ chức cung cấp dịch vụ an toàn thông tin', m.securityProvider ?? none],
        ['Tên nhà cung cấp dịch vụ kết nối bên ngoài', m.connectivityProvider ?? none],
        ['Mô tả sơ bộ về sự cố (*)', m.summary],
        ['Phân loại sự cố / mức độ', `${m.category}; ${m.severity}`],
        ['Ngày, thời gian phát hiện sự cố (*)', m.detectedAt ? formatViDate(m.detectedAt, timeZone) : none],
        ['Hiện trạng sự cố (*)', `${box(m.handled)} Đã được xử lý  ${box(!m.handled)} Chưa được xử lý`],
        ['Cách thức phát hiện (*)', list(m.detection)],
        ['Đã gửi thông báo sự cố cho (*)', list(m.notified)],
      ],
    },
    {
      title: 'THÔNG TIN BỔ SUNG VỀ HỆ THỐNG XẢY RA SỰ CỐ',
      rows: [
        ['Hệ điều hành, version', list(m.operatingSystems)],
        ['Các dịch vụ có trên hệ thống', list(m.services)],
        ['Các biện pháp an toàn thông tin đã triển khai', list(m.controls)],
        ['Các địa chỉ IP của hệ thống (chỉ địa chỉ Internet)', list(m.publicIps)],
        ['Các tên miền của hệ thống', list(m.domains)],
        ['Mục đích chính sử dụng hệ thống', m.purpose ?? none],
        ['Dấu hiệu nhận biết (chỉ báo) gửi kèm', list(m.indicators)],
        ['Thông tin gửi kèm (cung cấp theo yêu cầu)', list(m.evidence)],
        ['Thông tin phải được giữ bí mật', `${box(m.confidential)} Có  ${box(!m.confidential)} Không`],
      ],
    },
    {
      title: 'KIẾN NGHỊ, ĐỀ XUẤT HỖ TRỢ',
      rows: [
        ['Mô tả về đề xuất, kiến nghị', m.supportRequested ?? none],
        ...(m.responseSummary
          ? ([['Kết quả xử lý sự cố', m.responseSummary]] as Array<[string, string]>)
          : []),
      ],
    },
    {
      title: 'THỜI GIAN THỰC HIỆN BÁO CÁO SỰ CỐ (*)',
      rows: [['Ngày/tháng/năm giờ:phút', m.reportedAt ? formatViDate(m.reportedAt, timeZone) : none]],
    },
  ];
}

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** Markdown; its first line is the e-mail subject the form's note asks for ("[TBSC] …"). */
export function renderFormViMarkdown(
  bundle: StixBundle,
  opts: { timeZone?: string; extensionId?: string } = {},
): string {
  const m = formViModel(bundle, opts.extensionId);
  const tz = opts.timeZone ?? 'Asia/Ho_Chi_Minh';
  const out: string[] = [
    `<!-- Tiêu đề email: [TBSC] ${m.reportNumber} -->`,
    '# BÁO CÁO BAN ĐẦU SỰ CỐ MẠNG',
    '',
    `*Mẫu số 03, Thông tư 20/2017/TT-BTTTT — Số báo cáo: ${mdCell(m.reportNumber)} — ${m.tlp}*`,
    '',
  ];
  if (m.exercise) out.push('> **DIỄN TẬP** — đây là sự cố diễn tập, không phải sự cố thật.', '');
  for (const s of sections(m, tz)) {
    out.push(`## ${s.title}`, '', '| Mục | Nội dung |', '| --- | --- |');
    for (const [k, v] of s.rows) out.push(`| ${mdCell(k)} | ${mdCell(v)} |`);
    out.push('');
  }
  out.push(
    'CÁ NHÂN/NGƯỜI ĐẠI DIỆN THEO PHÁP LUẬT (Ký tên, đóng dấu)',
    '',
    '*(*) Thông tin bắt buộc. Bản điện tử sinh từ cùng dữ liệu STIX gửi tới Cơ quan điều phối.*',
    '',
  );
  return out.join('\n');
}

function esc(s: string): string {
  return s.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** A self-contained HTML page (no scripts, no external resources), printable to PDF. */
export function renderFormViHtml(
  bundle: StixBundle,
  opts: { timeZone?: string; extensionId?: string } = {},
): string {
  const m = formViModel(bundle, opts.extensionId);
  const tz = opts.timeZone ?? 'Asia/Ho_Chi_Minh';
  const body: string[] = [
    '<h1>BÁO CÁO BAN ĐẦU SỰ CỐ MẠNG</h1>',
    `<p class="sub">Mẫu số 03, Thông tư 20/2017/TT-BTTTT — Số báo cáo: ${esc(m.reportNumber)} — <b>${esc(m.tlp)}</b></p>`,
  ];
  if (m.exercise)
    body.push('<p class="drill"><b>DIỄN TẬP</b> — đây là sự cố diễn tập, không phải sự cố thật.</p>');
  for (const s of sections(m, tz)) {
    body.push(`<h2>${esc(s.title)}</h2>`, '<table>');
    for (const [k, v] of s.rows)
      body.push(`<tr><th>${esc(k)}</th><td>${esc(v).replace(/\r?\n/g, '<br>')}</td></tr>`);
    body.push('</table>');
  }
  body.push('<p class="sign">CÁ NHÂN/NGƯỜI ĐẠI DIỆN THEO PHÁP LUẬT<br>(Ký tên, đóng dấu)</p>');
  return [
    '<!doctype html>',
    '<html lang="vi"><head><meta charset="utf-8">',
    `<title>[TBSC] ${esc(m.reportNumber)}</title>`,
    '<style>body{font-family:"Times New Roman",serif;max-width:50em;margin:2em auto}table{border-collapse:collapse;width:100%}th,td{border:1px solid #444;padding:.3em .5em;vertical-align:top;text-align:left}th{width:40%;font-weight:normal}.sub{font-style:italic}.drill{border:2px solid #c00;padding:.5em}.sign{text-align:right;margin-top:3em}</style>',
    '</head><body>',
    ...body,
    '</body></html>',
    '',
  ].join('\n');
}
