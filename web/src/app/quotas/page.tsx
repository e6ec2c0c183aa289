'use client';

import { Suspense } from 'react';
import { QuotasView } from '@/views/quotas-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function QuotasPage() {
  return (
    <Suspense>
      <QuotasView />
    </Suspense>
  );
}
