'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useTranslation } from 'react-i18next';
import { useCan } from '@/auth/permissions';
import { Empty, useTitle } from '@/components/feedback';
import { JobEditor } from '@/components/job-editor';
import { href } from '@/lib/url';

/** What a new job starts from: the smallest definition that runs. */
const TEMPLATE = `name: my-job
tasks:
  - key: hello
    type: shell
    command: echo hello
`;

/** "New job": write a definition as YAML and create it with PUT /api/v1/jobs/{name}. */
export function NewJobView() {
  const { t } = useTranslation();
  const router = useRouter();
  const canEdit = useCan('PUT /api/v1/jobs/{name}');
  useTitle(t('newJob.title'));
  return (
    <div className="page">
      <nav aria-label={t('nav.breadcrumb')} className="crumbs">
        <Link href={href.jobs()}>{t('nav.jobs')}</Link> / <span aria-current="page">{t('newJob.title')}</span>
      </nav>
      <div className="page-head">
        <div>
          <h1>{t('newJob.title')}</h1>
          <p className="muted">{t('newJob.intro')}</p>
        </div>
      </div>
      {canEdit ? (
        <section className="card" aria-label={t('newJob.title')}>
          <JobEditor
            initial={TEMPLATE}
            jobName={null}
            canEdit
            onSaved={(job) => router.push(href.job(job.name, 'definition'))}
          />
        </section>
      ) : (
        <Empty title={t('newJob.notAllowed')} />
      )}
    </div>
  );
}
