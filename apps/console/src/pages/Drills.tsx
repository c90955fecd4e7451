import { useTranslation } from 'react-i18next';

/** Drill runs are not listed here yet (the API has them); the page says where to find them, no made-up data. */
export function DrillsPage() {
  const { t } = useTranslation();
  return (
    <section aria-labelledby="drills-title">
      <h1 id="drills-title">{t('drills.title')}</h1>
      <p role="note">{t('drills.unavailable')}</p>
    </section>
  );
}
