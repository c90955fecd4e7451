import { buildIncidentBundle } from './bundle';
import { formViModel, formatViDate, renderFormViHtml, renderFormViMarkdown } from './render-vi';
import { summaryBundleFixture } from './testing/render-fixtures';
import { REPORTER, reportInput } from './testing/fixtures';

function bundle() {
  const r = buildIncidentBundle(
    reportInput(),
    { documentationRangesInternal: false },
    { reporter: REPORTER },
  );
  if (!r.report) throw new Error('expected a bundle');
  return r.bundle;
}

describe('Mẫu 03 in Vietnamese', () => {
  it('reads the form fields from the bundle', () => {
    const m = formViModel(bundle());
    expect(m).toMatchObject({
      reporter: { name: 'Test City SOC', contact: 'soc-duty@city.example' },
      operatorUnits: ['Department of Finance'],
      systemName: 'City finance portal',
      systemLevel: 3,
      handled: false,
      confidential: false,
      tlp: 'TLP:AMBER',
      exercise: false,
      severity: 'Cao',
    });
    expect(m.notified).toEqual(['Cơ quan điều phối']);
    expect(m.evidence).toEqual(['Nhật ký hệ thống']);
    expect(m.indicators).toContain("[ipv4-addr:value = '203.0.113.45']");
  });

  it('renders Markdown with the [TBSC] subject and the form sections, nothing internal', () => {
    const md = renderFormViMarkdown(bundle());
    expect(md.split('\n')[0]).toMatch(/^<!-- Tiêu đề email: \[TBSC\] /);
    for (const h of [
      'THÔNG TIN VỀ TỔ CHỨC/CÁ NHÂN BÁO CÁO SỰ CỐ',
      'NGƯỜI LIÊN HỆ',
      'THÔNG TIN CHI TIẾT VỀ HỆ THỐNG BỊ SỰ CỐ',
      'THÔNG TIN BỔ SUNG VỀ HỆ THỐNG XẢY RA SỰ CỐ',
      'KIẾN NGHỊ, ĐỀ XUẤT HỖ TRỢ',
      'THỜI GIAN THỰC HIỆN BÁO CÁO SỰ CỐ (*)',
    ])
      expect(md).toContain(`## ${h}`);
    expect(md).toContain('☒ Cấp độ 3');
    expect(md).toContain('☐ Đã được xử lý  ☒ Chưa được xử lý');
    for (const leak of ['10.20.1.15', 'web-hn-01', 'tranthib', 'Nguyen Van Minh', 'Le Thi Hoa'])
      expect(md).not.toContain(leak);
  });

  it('renders escaped, script-free HTML', () => {
    const b = bundle();
    const inc = b.objects.find((o) => o.type === 'incident')!;
    inc['description'] = '<script>alert(1)</script> & more';
    const html = renderFormViHtml(b);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; more');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('<html lang="vi">');
  });

  it('formats dates in Hanoi time as dd/mm/yyyy hh:mm', () => {
    expect(formatViDate('2026-11-27T17:30:00Z')).toBe('28/11/2026 00:30');
    expect(formatViDate('2026-11-27T17:30:00Z', 'UTC')).toBe('27/11/2026 17:30');
  });

  it('refuses a bundle without an incident (summaries have no Mẫu 03)', () => {
    expect(() => formViModel(summaryBundleFixture())).toThrow(/no incident report/);
  });
});
