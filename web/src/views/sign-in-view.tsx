'use client';

import Link from 'next/link';
import { useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { api } from '@/api/client';
import { SignInFailed, signInWithApiKey, signInWithPassword } from '@/auth/session';
import { useTitle } from '@/components/feedback';
import { LANGUAGES, type Language, setLanguage } from '@/i18n/i18n';
import { useQueryState } from '@/lib/url';

/** Only same-site paths are followed after sign-in. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

/** Email and password by default; `?method=api-key` signs in with an API key instead. */
export function SignInView() {
  const { t, i18n } = useTranslation();
  useTitle(t('signIn.title'));
  const router = useRouter();
  const params = useSearchParams();
  const [, setParams] = useQueryState();
  const withKey = params.get('method') === 'api-key';
  const ended = params.get('reason') === 'ended';
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const explain = (err: unknown) => {
    if (!(err instanceof SignInFailed)) return t('signIn.unreachable');
    switch (err.reason) {
      case 'invalid':
        return withKey ? t('signIn.invalidKey') : t('signIn.invalid');
      case 'rate-limited':
        return err.retryAfter === null
          ? t('signIn.rateLimitedSoon')
          : t('signIn.rateLimited', { count: Math.ceil(err.retryAfter / 60), seconds: err.retryAfter });
      case 'unreachable':
        return t('signIn.unreachable');
      default: {
        const never: never = err.reason;
        return String(never);
      }
    }
  };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const missing = withKey ? !key.trim() : !email.trim() || !password;
    if (missing) {
      setError(withKey ? t('signIn.requiredKey') : t('signIn.required'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      if (withKey) await signInWithApiKey(key);
      else await signInWithPassword(email, password);
      router.replace(safeNext(params.get('next')));
    } catch (err) {
      setError(explain(err));
      setBusy(false);
    }
  };

  // The way in asked for: an API key, or (the default) email and password.
  const inputs = withKey
    ? [{ label: t('signIn.apiKey'), type: 'password', name: 'api-key', autoComplete: 'off', value: key, set: setKey }]
    : [
        {
          label: t('signIn.email'),
          type: 'email',
          name: 'email',
          autoComplete: 'username',
          value: email,
          set: setEmail,
        },
        {
          label: t('signIn.password'),
          type: 'password',
          name: 'password',
          autoComplete: 'current-password',
          value: password,
          set: setPassword,
        },
      ];
  const invalid = error ? true : undefined;
  // Whether SSO is configured: the API says so without a credential.
  const sso = api.useQuery('get', '/api/v1/auth/config').data?.sso ?? null;
  const ssoHref = sso ? `${sso.loginUrl}?returnTo=${encodeURIComponent(safeNext(params.get('next')))}` : null;

  return (
    <div className="signin">
      <div className="signin-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>
          Baton
        </div>
        <h1>{t('signIn.title')}</h1>
        {ended && (
          <p className="notice" role="status" data-testid="session-ended">
            {t('signIn.ended')}
          </p>
        )}
        <p className="muted">{withKey ? t('signIn.introKey') : t('signIn.intro')}</p>
        <form onSubmit={(e) => void submit(e)} noValidate>
          {inputs.map((x, i) => (
            <label key={x.name} className="field">
              <span>{x.label}</span>
              <input
                type={x.type}
                name={x.name}
                autoComplete={x.autoComplete}
                spellCheck={false}
                value={x.value}
                onChange={(e) => x.set(e.target.value)}
                aria-invalid={invalid}
                aria-describedby={withKey ? 'signin-help signin-error' : 'signin-error'}
                autoFocus={i === 0}
              />
            </label>
          ))}
          {withKey && (
            <p id="signin-help" className="muted small">
              <Trans i18nKey="signIn.help" components={{ code: <code /> }} />
            </p>
          )}
          <p id="signin-error" className="form-error" role="alert">
            {error}
          </p>
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? t('common.working') : t('signIn.submit')}
          </button>
        </form>
        {!withKey && (
          <p className="signin-alt">
            <Link href="/reset-password/">{t('signIn.forgot')}</Link>
          </p>
        )}
        {ssoHref && (
          <>
            <p className="signin-or muted small">{t('signIn.or')}</p>
            <a className="btn btn-block" href={ssoHref} data-testid="sso">
              {t('signIn.sso')}
            </a>
          </>
        )}
        <p className="signin-alt">
          <button
            type="button"
            className="btn-link"
            onClick={() => {
              setError(null);
              setParams({ method: withKey ? null : 'api-key' });
            }}
          >
            {withKey ? t('signIn.usePassword') : t('signIn.useApiKey')}
          </button>
        </p>
        <label className="signin-lang">
          <span>{t('prefs.language')}</span>
          <select value={i18n.language} onChange={(e) => void setLanguage(e.target.value as Language)}>
            {LANGUAGES.map((l) => (
              <option key={l} value={l}>
                {t(`prefs.languages.${l}`)}
              </option>
            ))}
          </select>
        </label>
      </div>
    </div>
  );
}
