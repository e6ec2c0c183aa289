'use client';

import { type ReactNode, useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import type { Problem } from '@/api/client';

/** Sets the document title as `<page> · Baton`. */
export function useTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Baton` : 'Baton';
  }, [title]);
}

export function Loading({ label }: { label?: string }) {
  const { t } = useTranslation();
  return (
    <div className="state-block" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label ?? t('common.loading')}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state-block state-empty" role="status">
      <strong>{title}</strong>
      {children && <div className="state-hint">{children}</div>}
    </div>
  );
}

function isProblem(e: unknown): e is Problem {
  return typeof e === 'object' && e !== null && ('title' in e || 'detail' in e || 'status' in e);
}

/** What went wrong, as the API said it (problem+json), with a way to try again. */
export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { t } = useTranslation();
  const p = isProblem(error) ? error : null;
  const message = p ? (p.detail ?? p.title) : error instanceof Error ? error.message : String(error);
  return (
    <div className="state-block state-error" role="alert">
      <strong>{p?.status === 404 ? t('errors.notFound') : t('errors.title')}</strong>
      {message && <div className="state-hint">{message}</div>}
      {p?.errors && p.errors.length > 0 && (
        <ul className="problem-fields">
          {p.errors.map((e, i) => (
            <li key={i}>
              <code>{e.path}</code> {e.message}
            </li>
          ))}
        </ul>
      )}
      {onRetry && (
        <button type="button" className="btn" onClick={onRetry}>
          {t('common.retry')}
        </button>
      )}
    </div>
  );
}

/** A problem+json body or a thrown error as one line (for inline form errors). */
export function problemText(error: unknown): string {
  if (isProblem(error)) {
    const fields = error.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
    return [error.detail ?? error.title, fields].filter(Boolean).join(' — ');
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * The loading, error and empty states of a query in one place: `children`
 * renders only when there is something to show.
 */
export function Loaded<T>({
  query,
  isEmpty,
  empty,
  children,
}: {
  query: { isPending: boolean; isError: boolean; error: unknown; data: T | undefined; refetch: () => unknown };
  isEmpty: (data: T) => boolean;
  empty: ReactNode;
  children: (data: T) => ReactNode;
}) {
  if (query.isPending) return <Loading />;
  if (query.isError || query.data === undefined)
    return <ErrorState error={query.error} onRetry={() => void query.refetch()} />;
  return <>{isEmpty(query.data) ? empty : children(query.data)}</>;
}

/** An API refusal as a person reads it: a 403 says the role may not, a 409 what stands in the way. */
export function useRefusal(): (error: unknown) => string {
  const { t } = useTranslation();
  return (error) => {
    const status = isProblem(error) ? error.status : undefined;
    const detail = problemText(error);
    if (status === 403) return t('errors.forbidden', { detail });
    if (status === 409) return t('errors.conflict', { detail });
    return detail;
  };
}
