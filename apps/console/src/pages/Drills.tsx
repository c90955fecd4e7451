import { useTranslation } from 'react-i18next';

/** The drills API (issue: drills) does not exist yet; this page says so rather than showing made-up data. */
export function DrillsPage() {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="drills-title">
      <h1 id="drills-title">{t('drills.title')}</h1>
      <p role="note">{t('drills.unavailable')}</p>
    </section>
  );
}
