'use client';

import Link from 'next/link';
import { type FormEvent, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { client } from '@/api/client';
import { problemText, useTitle } from '@/components/feedback';
import { useLinkToken } from '@/lib/link-token';

/** A problem+json answer as an Error that problemText reads. */
const refusal = (error: { detail?: string; title?: string }) =>
  Object.assign(new Error(error.detail ?? error.title ?? 'refused'), error);

/** Without a token: ask for a link by email. With the link's token: choose the new password. */
export function ResetPasswordView() {
  const { t } = useTranslation();
  useTitle(t('links.reset.title'));
  const { ready, token } = useLinkToken();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // What was done, for the token it was done with: opening the mailed link in this tab starts the next step.
  const [outcome, setOutcome] = useState<{ text: string; token: string | null } | null>(null);
  const done = outcome && outcome.token === token ? outcome.text : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    if (token && password !== again) {
      setError(t('links.reset.differ'));
      return;
    }
    if (token ? !password : !email.trim()) {
      setError(token ? t('links.reset.requiredPassword') : t('links.reset.requiredEmail'));
      return;
    }
    setBusy(true);
    try {
      if (token) {
        const r = await client.POST('/api/v1/auth/password-reset/confirm', { body: { token, password } });
        if (r.error !== undefined || !r.data) throw refusal(r.error ?? {});
        setOutcome({ text: t('links.reset.changed'), token });
      } else {
        const r = await client.POST('/api/v1/auth/password-reset', { body: { email: email.trim() } });
        if (r.error !== undefined) throw refusal(r.error);
        setOutcome({ text: t('links.reset.sent', { email: email.trim() }), token });
      }
    } catch (err) {
      setError(problemText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="signin">
      <div className="signin-card" data-testid="reset-password">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          Baton
        </div>
        <h1>{t('links.reset.title')}</h1>
        {done ? (
          <p className="notice" role="status" data-testid="reset-done">
            {done}
          </p>
        ) : ready ? (
          <>
            <p className="muted">{token ? t('links.reset.introConfirm') : t('links.reset.introRequest')}</p>
            <form onSubmit={(e) => void submit(e)} noValidate>
              {token ? (
                <>
                  <label className="field">
                    <span>{t('links.reset.password')}</span>
                    <input
                      type="password"
                      name="password"
                      autoComplete="new-password"
                      value={password}
                      onChange={(e) => setPassword(e.target.value)}
                      aria-describedby="reset-error"
                    />
                  </label>
                  <label className="field">
                    <span>{t('links.reset.again')}</span>
                    <input
                      type="password"
                      name="again"
                      autoComplete="new-password"
                      value={again}
                      onChange={(e) => setAgain(e.target.value)}
                      aria-describedby="reset-error"
                    />
                  </label>
                </>
              ) : (
                <label className="field">
                  <span>{t('signIn.email')}</span>
                  <input
                    type="email"
                    name="email"
                    autoComplete="username"
                    value={email}
                    onChange={(e) => setEmail(e.target.value)}
                    aria-describedby="reset-error"
                  />
                </label>
              )}
              <p id="reset-error" className="form-error" role="alert">
                {error}
              </p>
              <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
                {busy ? t('common.working') : token ? t('links.reset.submitConfirm') : t('links.reset.submitRequest')}
              </button>
            </form>
          </>
        ) : null}
        <p className="signin-alt">
          <Link href="/sign-in/">{t('links.toSignIn')}</Link>
        </p>
      </div>
    </div>
  );
}
