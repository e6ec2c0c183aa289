'use client';

import { Suspense } from 'react';
import { SignInView } from '@/views/sign-in-view';

// eslint-disable-next-line import-x/no-default-export -- Next.js routes are default exports
export default function SignInPage() {
  return (
    <Suspense>
      <SignInView />
    </Suspense>
  );
}
