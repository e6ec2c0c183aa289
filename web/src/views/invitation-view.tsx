'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type InvitationPreview, client } from '@/api/client';
import { acceptInvitation } from '@/auth/session';
import { Loading, problemText, useTitle } from '@/components/feedback';
import { useFormatters } from '@/lib/prefs';
import { useLinkToken } from '@/lib/link-token';

/** What the link invites to (null: no invitation has this token), read before anything is accepted. */
function usePreview(token: string | null) {
  return useQuery({
    queryKey: ['invitation-preview', token],
    enabled: token !== null,
    retry: false,
    queryFn: async (): Promise<InvitationPreview | null> => {
      const r = await client.POST('/api/v1/invitations/preview', { body: { token: token! } });
      if (r.response.status === 404) return null;
      if (r.error !== undefined) throw new Error(problemText(r.error));
      return r.data;
    },
  });
}

/**
 * Accepting an invitation: first which tenant, role and email it is for (or that it is expired, used or
 * revoked), then a name and a password make the account (an existing account gives its own password).
 */
export function InvitationView() {
  const { t } = useTranslation();
  useTitle(t('links.invitation.title'));
  const router = useRouter();
  const { ready, token } = useLinkToken();
  const preview = usePreview(token);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!token) return;
    if (!password) {
      setError(t('links.invitation.required'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await acceptInvitation({ token, password, ...(name.trim() ? { name: name.trim() } : {}) });
      router.replace('/');
    } catch (err) {
      setError(problemText(err));
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <div className="signin-card" data-testid="invitation">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          Baton
        </div>
        <h1>{t('links.invitation.title')}</h1>
        {ready && !token ? (
          <p className="form-error" role="alert">
            {t('links.noToken')}
          </p>
        ) : preview.isPending && token ? (
          <Loading />
        ) : preview.data === null ? (
          <p className="form-error" role="alert" data-testid="invitation-state">
            {t('links.invitation.unknown')}
          </p>
        ) : preview.data && preview.data.state !== 'pending' ? (
          <>
            <PreviewFacts preview={preview.data} />
            <p className="form-error" role="alert" data-testid="invitation-state" data-state={preview.data.state}>
              {t(`links.invitation.states.${preview.data.state}`)}
            </p>
          </>
        ) : (
          <>
            {preview.data && <PreviewFacts preview={preview.data} />}
            {preview.isError && (
              <p className="form-error" role="alert">
                {problemText(preview.error)}
              </p>
            )}
            <p className="muted">{t('links.invitation.intro')}</p>
            <form onSubmit={(e) => void submit(e)} noValidate>
              <label className="field">
                <span>{t('links.invitation.name')}</span>
                <input name="name" autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} />
              </label>
              <label className="field">
                <span>{t('links.invitation.password')}</span>
                <input
                  type="password"
                  name="password"
                  autoComplete="new-password"
                  value={password}
                  onChange={(e) => setPassword(e.target.value)}
                  aria-invalid={error ? true : undefined}
                  aria-describedby="invitation-help invitation-error"
                />
              </label>
              <p id="invitation-help" className="muted small">
                {t('links.invitation.help')}
              </p>
              <p id="invitation-error" className="form-error" role="alert">
                {error}
              </p>
              <button type="submit" className="btn btn-primary btn-block" disabled={busy || !token}>
                {busy ? t('common.working') : t('links.invitation.submit')}
              </button>
            </form>
          </>
        )}
        <p className="signin-alt">
          <Link href="/sign-in/">{t('links.toSignIn')}</Link>
        </p>
      </div>
    </div>
  );
}

/** The tenant, role and email the link is for, and until when it works. */
function PreviewFacts({ preview }: { preview: InvitationPreview }) {
  const { t } = useTranslation();
  const f = useFormatters();
  return (
    <dl className="invitation-facts" data-testid="invitation-preview">
      <div data-field="tenant">
        <dt>{t('links.invitation.tenant')}</dt>
        <dd>{preview.tenant.name}</dd>
      </div>
      <div data-field="role">
        <dt>{t('links.invitation.role')}</dt>
        <dd>{t(`roles.${preview.role}`)}</dd>
      </div>
      <div data-field="email">
        <dt>{t('links.invitation.email')}</dt>
        <dd className="mono">{preview.email}</dd>
      </div>
      <div data-field="expiresAt">
        <dt>{t('links.invitation.expires')}</dt>
        <dd>{f.instant(preview.expiresAt)}</dd>
      </div>
    </dl>
  );
}
