'use client';

import Link from 'next/link';
import { useTranslation } from 'react-i18next';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function NotFound() {
  const { t } = useTranslation();
  return (
    <div className="page">
      <div className="state-block state-empty" role="status">
        <strong>{t('errors.pageNotFound')}</strong>
        <Link href="/">{t('nav.home')}</Link>
      </div>
    </div>
  );
}
