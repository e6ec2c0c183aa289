'use client';

import { Suspense } from 'react';
import { ResetPasswordView } from '@/views/reset-password-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function Page() {
  return (
    <Suspense>
      <ResetPasswordView />
    </Suspense>
  );
}
