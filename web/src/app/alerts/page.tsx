'use client';

import { Suspense } from 'react';
import { AlertsView } from '@/views/alerts-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function AlertsPage() {
  return (
    <Suspense>
      <AlertsView />
    </Suspense>
  );
}
