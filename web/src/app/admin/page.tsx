'use client';

import { Suspense } from 'react';
import { AdminView } from '@/views/admin-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function AdminPage() {
  return (
    <Suspense>
      <AdminView />
    </Suspense>
  );
}
