'use client';

import { useTranslation } from 'react-i18next';

/** First-page and next-page buttons of a cursor-paginated list (`cursor` is the page shown, if not the first). */
export function Pager({
  cursor,
  nextCursor,
  onPage,
}: {
  cursor: string | null | undefined;
  nextCursor: string | null | undefined;
  onPage: (cursor: string | null) => void;
}) {
  const { t } = useTranslation();
  return (
    <div className="pager">
      {cursor && (
        <button type="button" className="btn" onClick={() => onPage(null)}>
          {t('common.firstPage')}
        </button>
      )}
      {nextCursor && (
        <button type="button" className="btn" onClick={() => onPage(nextCursor)}>
          {t('common.nextPage')}
        </button>
      )}
    </div>
  );
}
