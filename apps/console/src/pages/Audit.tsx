import { useTranslation } from 'react-i18next';
import { Time } from '../ui';
import { ListPage } from './Simple';

interface Entry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string;
  outcome: string;
}
const pick = (b: unknown) => (b as { items: Entry[] }).items;

export function AuditPage() {
  const { t } = useTranslation();
  return (
    <ListPage<Entry>
      title={t('audit.title')}
      route="/api/v1/audit?limit=200"
      pick={pick}
      empty={t('audit.empty')}
      columns={[
        t('audit.seq'),
        t('col.time'),
        t('audit.actor'),
        t('audit.action'),
        t('audit.target'),
        t('audit.outcome'),
      ]}
      row={(e) => [e.seq, <Time key="t" iso={e.at} />, e.actor, e.action, e.target, e.outcome]}
    />
  );
}
