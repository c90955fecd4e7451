import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { formatNumber } from '../format';
import { Time } from '../ui';
import { ListPage } from './Simple';

interface RuleRow {
  rule_id: string;
  title: string;
  incidents: number;
  alerts: number;
  false_positive: number;
  closed: number;
  last_seen: number;
}
const pick = (b: unknown) => (b as { items: RuleRow[] }).items;

/** Rules seen in incidents: hits and the false-positive rate from analysts' dispositions. */
export function RulesPage() {
  const { t } = useTranslation();
  return (
    <ListPage<RuleRow>
      title={t('rules.title')}
      route="/api/v1/console/rules"
      pick={pick}
      empty={t('rules.empty')}
      columns={[
        t('col.rule'),
        t('rules.example'),
        t('col.alerts'),
        t('rules.incidents'),
        t('rules.fpRate'),
        t('col.lastSeen'),
      ]}
      row={(r) => [
        <Link key="r" to={`/queue?view=all&rule=${encodeURIComponent(r.rule_id)}`}>
          {r.rule_id}
        </Link>,
        r.title,
        formatNumber(r.alerts),
        formatNumber(r.incidents),
        r.closed
          ? `${formatNumber(Math.round((100 * r.false_positive) / r.closed))} %`
          : t('rules.noDispositions'),
        <Time key="t" iso={new Date(r.last_seen).toISOString()} />,
      ]}
    />
  );
}
