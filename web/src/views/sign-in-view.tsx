'use client';

import { useRouter, useSearchParams } from 'next/navigation';
import { type FormEvent, useState } from 'react';
import { Trans, useTranslation } from 'react-i18next';
import { SignInFailed, signInWithApiKey } from '@/auth/session';
import { useTitle } from '@/components/feedback';
import { LANGUAGES, type Language, setLanguage } from '@/i18n/i18n';

/** Only same-site paths are followed after sign-in. */
function safeNext(next: string | null): string {
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

export function SignInView() {
  const { t, i18n } = useTranslation();
  useTitle(t('signIn.title'));
  const router = useRouter();
  const params = useSearchParams();
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!key.trim()) {
      setError(t('signIn.required'));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await signInWithApiKey(key);
      router.replace(safeNext(params.get('next')));
    } catch (err) {
      setError(err instanceof SignInFailed && err.reason === 'invalid' ? t('signIn.invalid') : t('signIn.unreachable'));
      setBusy(false);
    }
  };
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
        <p className="muted">{t('signIn.intro')}</p>
        <form onSubmit={(e) => void submit(e)} noValidate>
          <label className="field">
            <span>{t('signIn.apiKey')}</span>
            <input
              type="password"
              name="api-key"
              autoComplete="off"
              spellCheck={false}
              value={key}
              onChange={(e) => setKey(e.target.value)}
              aria-invalid={error ? true : undefined}
              aria-describedby="signin-help signin-error"
              autoFocus
            />
          </label>
          <p id="signin-help" className="muted small">
            <Trans i18nKey="signIn.help" components={{ code: <code /> }} />
          </p>
          <p id="signin-error" className="form-error" role="alert">
            {error}
          </p>
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? t('common.working') : t('signIn.submit')}
          </button>
        </form>
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
