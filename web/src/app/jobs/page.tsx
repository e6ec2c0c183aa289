'use client';

import { Suspense } from 'react';
import { JobsView } from '@/views/jobs-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function JobsPage() {
  return (
    <Suspense>
      <JobsView />
    </Suspense>
  );
}
