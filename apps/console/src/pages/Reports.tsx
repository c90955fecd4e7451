import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { str } from '../format';
import { Time } from '../ui';
import { ListPage } from './Simple';

type Version = Record<string, unknown>;
const pick = (b: unknown) => (b as { items: Version[] }).items;

/** The national reporting outbox: every report version with its delivery status. */
export function ReportsPage() {
  const { t } = useTranslation();
  return (
    <ListPage<Version>
      title={t('reports.title')}
      route="/api/v1/reports/versions"
      pick={pick}
      empty={t('reports.empty')}
      columns={[t('reports.report'), t('reports.incident'), t('reports.status'), t('col.time')]}
      row={(v) => [
        str(v.report_id ?? v.id ?? ''),
        <Link key="i" to={`/incidents/${str(v.incident_id ?? '')}`}>
          {str(v.incident_id ?? '')}
        </Link>,
        str(v.status ?? ''),
        <Time key="t" iso={str(v.created_at ?? '')} />,
      ]}
    />
  );
}
