'use client';

import { Suspense } from 'react';
import { AuditView } from '@/views/audit-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function AuditPage() {
  return (
    <Suspense>
      <AuditView />
    </Suspense>
  );
}
