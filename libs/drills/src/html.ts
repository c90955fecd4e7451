import { type Scorecard } from './score';
import { zonedParts } from './syslog-format';

export type Lang = 'vi' | 'en';

const T = {
  en: {
    title: 'Drill scorecard',
    run: 'Run',
    scenario: 'Scenario',
    started: 'Started',
    mode: 'Mode',
    speed: 'Speed',
    seed: 'Seed',
    result: 'Result',
    pass: 'pass',
    fail: 'fail',
    pending: 'pending',
    delayed: 'delayed',
    missed: 'missed',
    timeline: 'Timeline',
    expectations: 'Detections',
    expectation: 'Expectation',
    rule: 'Rule',
    step: 'Step',
    status: 'Status',
    category: 'Category',
    matches: 'Alerts',
    ttd: 'Time to detect',
    tti: 'Time to incident',
    incidents: 'Incidents',
    grouping: 'Grouping',
    count: 'Count',
    severity: 'Severity',
    unit: 'Unit',
    tta: 'Time to claim',
    ttr: 'Time to resolve',
    sla: 'SLA',
    disposition: 'Disposition',
    coverage: 'Coverage by technique',
    sources: 'Coverage by source',
    noise: 'Noise',
    unexpected: 'Unexpected alerts',
    violations: 'Must-not-fire violations',
    overMax: 'More alerts than expected',
    none: 'none',
    yes: 'yes',
    no: 'no',
    human: 'Response team',
    blind: 'blind',
    injected: 'Injected',
    lines: 'syslog lines',
    flows: 'flow records',
    twin: 'Benign twin of',
    cats: {
      none: 'none',
      telemetry: 'telemetry',
      general: 'general',
      tactic: 'tactic',
      technique: 'technique',
      incident: 'incident',
    },
    slaV: { met: 'met', breached: 'breached', 'n/a': 'n/a' },
    modes: { ci: 'CI', human: 'exercise', offline: 'offline' },
    srcV: { pass: 'pass', fail: 'fail', 'telemetry-only': 'telemetry only' },
  },
  vi: {
    title: 'Bảng điểm diễn tập',
    run: 'Lượt chạy',
    scenario: 'Kịch bản',
    started: 'Bắt đầu',
    mode: 'Chế độ',
    speed: 'Tốc độ',
    seed: 'Hạt giống',
    result: 'Kết quả',
    pass: 'đạt',
    fail: 'không đạt',
    pending: 'đang chờ',
    delayed: 'chậm',
    missed: 'bỏ sót',
    timeline: 'Dòng thời gian',
    expectations: 'Phát hiện',
    expectation: 'Kỳ vọng',
    rule: 'Luật',
    step: 'Bước',
    status: 'Trạng thái',
    category: 'Mức',
    matches: 'Cảnh báo',
    ttd: 'Thời gian phát hiện',
    tti: 'Thời gian tạo sự cố',
    incidents: 'Sự cố',
    grouping: 'Gom nhóm',
    count: 'Số lượng',
    severity: 'Mức độ',
    unit: 'Đơn vị',
    tta: 'Thời gian nhận xử lý',
    ttr: 'Thời gian giải quyết',
    sla: 'SLA',
    disposition: 'Kết luận',
    coverage: 'Độ phủ theo kỹ thuật',
    sources: 'Độ phủ theo nguồn',
    noise: 'Nhiễu',
    unexpected: 'Cảnh báo ngoài dự kiến',
    violations: 'Luật không được kích hoạt nhưng đã kích hoạt',
    overMax: 'Nhiều cảnh báo hơn dự kiến',
    none: 'không có',
    yes: 'có',
    no: 'không',
    human: 'Đội ứng cứu',
    blind: 'mù',
    injected: 'Đã gửi',
    lines: 'dòng syslog',
    flows: 'bản ghi luồng',
    twin: 'Kịch bản lành tính đối ứng của',
    cats: {
      none: 'không có',
      telemetry: 'dữ liệu',
      general: 'chung',
      tactic: 'chiến thuật',
      technique: 'kỹ thuật',
      incident: 'sự cố',
    },
    slaV: { met: 'đạt', breached: 'vi phạm', 'n/a': 'không áp dụng' },
    modes: { ci: 'CI', human: 'diễn tập', offline: 'ngoại tuyến' },
    srcV: { pass: 'đạt', fail: 'không đạt', 'telemetry-only': 'chỉ dữ liệu' },
  },
} as const;

function esc(s: unknown): string {
  return String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

/** `18.4 s`, `4 min 21 s`, `1 h 02 min` — the same in both languages (SI symbols). */
export function fmtDuration(ms: number | null): string {
  if (ms === null) return '—';
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** Times are shown in the SOC's zone with the offset visible (`2026-11-27 09:30:00 +07`). */
export function fmtTime(iso: string, timeZone: string): string {
  const ms = Date.parse(iso);
  const z = zonedParts(ms, timeZone);
  const two = (n: number) => String(n).padStart(2, '0');
  const off = z.offsetMin;
  const sign = off < 0 ? '-' : '+';
  const oh = two(Math.floor(Math.abs(off) / 60));
  const om = Math.abs(off) % 60;
  return `${z.year}-${two(z.month)}-${two(z.day)} ${two(z.hour)}:${two(z.minute)}:${two(z.second)} ${sign}${oh}${om ? two(om) : ''}`;
}

const CSS = `body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;margin:2rem;color:#1a1a1a;background:#fff}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.5rem 0 .5rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;margin:.25rem 0}th,td{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0}.r-pass{color:#0a5d1e}.r-fail{color:#a40000}.r-pending,.r-delayed{color:#7a4d00}
.badge{display:inline-block;padding:.1rem .5rem;border:2px solid currentColor;border-radius:.3rem;font-weight:700}
.strip{display:flex;gap:.25rem;flex-wrap:wrap}.strip span{border:1px solid #888;padding:.15rem .4rem;border-radius:.2rem}
.grid{display:flex;flex-wrap:wrap;gap:.3rem}.grid span{padding:.3rem .5rem;border:1px solid #888;border-radius:.2rem}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.1rem 1rem}dt{font-weight:600}
@media print{body{margin:0}}`;

const MARK = { pass: '✔', fail: '✘', pending: '…', delayed: '⚠', missed: '✘' } as const;

/**
 * One static page, no external assets (inline CSS, no scripts, no fonts), printable. Status is never
 * colour alone: every status has a symbol and a word.
 */
export function renderScorecardHtml(sc: Scorecard, lang: Lang, timeZone = 'Asia/Ho_Chi_Minh'): string {
  const t = T[lang];
  const title = sc.scenario.title[lang] ?? sc.scenario.title.en;
  const status = (s: 'pass' | 'delayed' | 'missed' | 'pending') =>
    `<span class="r-${s === 'missed' ? 'fail' : s}">${MARK[s]} ${esc(t[s])}</span>`;
  const yn = (b: boolean | null) => (b === null ? '—' : b ? `✔ ${t.yes}` : `✘ ${t.no}`);
  const rows: string[] = [];
  rows.push(`<!doctype html><html lang="${lang}"><head><meta charset="utf-8">`);
  rows.push(`<meta name="viewport" content="width=device-width, initial-scale=1">`);
  rows.push(
    `<title>${esc(t.title)} — ${esc(title)} — ${esc(sc.run)}</title><style>${CSS}</style></head><body>`,
  );
  rows.push(`<header><h1>${esc(t.title)}: ${esc(title)}</h1>`);
  rows.push(`<p class="badge r-${sc.result}">${t.result}: ${MARK[sc.result]} ${esc(t[sc.result])}</p>`);
  rows.push('<dl>');
  const dl = (k: string, v: string) => rows.push(`<dt>${esc(k)}</dt><dd>${v}</dd>`);
  dl(t.run, esc(sc.run));
  dl(
    t.scenario,
    `${esc(sc.scenario.id)} v${sc.scenario.version} <code>${esc(sc.scenario.sha256.slice(0, 12))}</code>`,
  );
  if (sc.scenario.twin_of) dl(t.twin, esc(sc.scenario.twin_of));
  dl(t.started, esc(fmtTime(sc.started, timeZone)));
  dl(t.mode, `${esc(t.modes[sc.mode])}${sc.blind ? ` (${esc(t.blind)})` : ''}`);
  dl(t.speed, `×${esc(sc.speed)}`);
  dl(t.seed, esc(sc.seed));
  dl(t.injected, `${sc.injected.syslog} ${esc(t.lines)}, ${sc.injected.flows} ${esc(t.flows)}`);
  rows.push('</dl></header>');

  rows.push(`<section><h2>${esc(t.timeline)}</h2><div class="strip">`);
  for (const e of sc.expectations)
    rows.push(
      `<span>${esc(e.step)} → ${esc(e.id)}: ${esc(fmtDuration(e.ttd_ms))}${e.tti_ms !== null ? ` → ${esc(t.incidents)} ${esc(fmtDuration(e.tti_ms))}` : ''}</span>`,
    );
  for (const i of sc.incidents)
    if (i.tta_ms !== null || i.ttr_ms !== null)
      rows.push(
        `<span>${esc(i.expected)}: ${esc(t.tta)} ${esc(fmtDuration(i.tta_ms))} → ${esc(t.ttr)} ${esc(fmtDuration(i.ttr_ms))}</span>`,
      );
  rows.push('</div></section>');

  rows.push(`<section><h2>${esc(t.expectations)}</h2>`);
  if (sc.expectations.length === 0) rows.push(`<p>${esc(t.none)}</p>`);
  else {
    rows.push(
      `<table><thead><tr><th>${esc(t.expectation)}</th><th>${esc(t.rule)}</th><th>${esc(t.step)}</th><th>${esc(t.status)}</th><th>${esc(t.category)}</th><th>${esc(t.matches)}</th><th>${esc(t.ttd)}</th><th>${esc(t.tti)}</th></tr></thead><tbody>`,
    );
    for (const e of sc.expectations)
      rows.push(
        `<tr><td>${esc(e.id)}</td><td>${esc(e.rule_title ?? e.rule)}<br><code>${esc(e.rule)}</code></td><td>${esc(e.step)}</td><td>${status(e.status)}</td><td>${esc(t.cats[e.category])}</td><td>${e.matches}</td><td>${esc(fmtDuration(e.ttd_ms))}</td><td>${esc(fmtDuration(e.tti_ms))}</td></tr>`,
      );
    rows.push('</tbody></table>');
  }
  rows.push('</section>');

  rows.push(`<section><h2>${esc(t.incidents)}</h2>`);
  if (sc.incidents.length === 0) rows.push(`<p>${esc(t.none)}</p>`);
  else {
    const humanCols = sc.mode === 'human';
    rows.push(
      `<table><thead><tr><th>${esc(t.expectation)}</th><th>${esc(t.incidents)}</th><th>${esc(t.grouping)}</th><th>${esc(t.count)}</th><th>${esc(t.severity)}</th><th>${esc(t.unit)}</th>${humanCols ? `<th>${esc(t.tta)}</th><th>${esc(t.ttr)}</th><th>${esc(t.sla)}</th><th>${esc(t.disposition)}</th>` : ''}</tr></thead><tbody>`,
    );
    for (const i of sc.incidents)
      rows.push(
        `<tr><td>${esc(i.expected)}</td><td>${esc(i.incident_ids.join(', ') || '—')}</td><td>${yn(i.grouping_ok)}</td><td>${yn(i.count_ok)}</td><td>${esc(i.severity ?? '—')} ${i.severity_ok === null ? '' : yn(i.severity_ok)}</td><td>${esc(i.unit ?? '—')} ${i.unit_ok === null ? '' : yn(i.unit_ok)}</td>${humanCols ? `<td>${esc(fmtDuration(i.tta_ms))}</td><td>${esc(fmtDuration(i.ttr_ms))}</td><td>TTA ${esc(t.slaV[i.sla.tta])}, TTR ${esc(t.slaV[i.sla.ttr])}</td><td>${esc(i.disposition ?? '—')}</td>` : ''}</tr>`,
      );
    rows.push('</tbody></table>');
  }
  rows.push('</section>');

  rows.push(`<section><h2>${esc(t.coverage)}</h2><div class="grid">`);
  const techs = Object.entries(sc.coverage.by_technique).sort(([a], [b]) => a.localeCompare(b));
  if (techs.length === 0) rows.push(`<span>${esc(t.none)}</span>`);
  for (const [tech, r] of techs)
    rows.push(`<span class="r-${r}">${MARK[r]} ${esc(tech)} ${esc(t[r])}</span>`);
  rows.push(`</div><h2>${esc(t.sources)}</h2><div class="grid">`);
  for (const [src, r] of Object.entries(sc.coverage.by_source).sort(([a], [b]) => a.localeCompare(b)))
    rows.push(`<span>${esc(src)}: ${esc(t.srcV[r])}</span>`);
  rows.push('</div></section>');

  rows.push(`<section><h2>${esc(t.noise)}</h2>`);
  const list = (head: string, items: string[]) =>
    rows.push(
      `<h3>${esc(head)}</h3>${items.length === 0 ? `<p>${esc(t.none)}</p>` : `<ul>${items.map((x) => `<li>${x}</li>`).join('')}</ul>`}`,
    );
  list(
    t.violations,
    sc.noise.must_not_fire_violations.map((v) => `✘ ${esc(v.title)} <code>${esc(v.rule)}</code> ×${v.count}`),
  );
  list(
    t.unexpected,
    sc.noise.unexpected_alerts.map((u) => `${esc(u.title)} <code>${esc(u.rule)}</code> ×${u.count}`),
  );
  list(
    t.overMax,
    sc.noise.over_max.map((o) => `${esc(o.expectation)}: ${o.matches} &gt; ${o.max}`),
  );
  rows.push('</section></body></html>\n');
  return rows.join('\n');
}
