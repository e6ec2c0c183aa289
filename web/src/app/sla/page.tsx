'use client';

import { Suspense } from 'react';
import { SlaReportsView } from '@/views/sla-reports-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function SlaReportsPage() {
  return (
    <Suspense>
      <SlaReportsView />
    </Suspense>
  );
}
