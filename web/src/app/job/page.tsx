'use client';

import { Suspense } from 'react';
import { JobView } from '@/views/job-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function JobPage() {
  return (
    <Suspense>
      <JobView />
    </Suspense>
  );
}
