'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { acceptInvitation } from '@/auth/session';
import { problemText, useTitle } from '@/components/feedback';
import { useLinkToken } from '@/lib/link-token';

/** Accepting an invitation: a name and a password make the account (an existing account gives its own password). */
export function InvitationView() {
  const { t } = useTranslation();
  useTitle(t('links.invitation.title'));
  const router = useRouter();
  const { ready, token } = useLinkToken();
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
        ) : (
          <>
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
