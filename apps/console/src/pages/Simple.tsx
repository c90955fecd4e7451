import { type ReactNode, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from '../api';
import { ErrorText } from '../ui';

/** A page that loads one list from the API and renders it as a table. */
export function ListPage<T>({
  title,
  route,
  pick,
  columns,
  row,
  empty,
}: {
  title: string;
  route: string;
  pick: (body: unknown) => T[];
  columns: string[];
  row: (item: T) => ReactNode[];
  empty: string;
}) {
  const { t } = useTranslation();
  const [items, setItems] = useState<T[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    api<unknown>('GET', route)
      .then((b) => setItems(pick(b) ?? []))
      .catch((err: unknown) => {
        setItems([]);
        setError(err);
      });
    // pick is a module-level function per page
  }, [route, pick]);
  return (
    <section aria-labelledby="page-title">
      <h1 id="page-title">{title}</h1>
      <ErrorText error={error} />
      {items === null ? (
        <p>{t('common.loading')}</p>
      ) : items.length === 0 ? (
        <p>{empty}</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              {columns.map((c) => (
                <th scope="col" key={c}>
                  {c}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {items.map((it, i) => (
              <tr key={i}>
                {row(it).map((cell, j) => (
                  <td key={j}>{cell}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
