'use client';

import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { type AttemptState, client } from '@/api/client';
import { isFinished } from '@/lib/states';
import { ErrorState, Loading } from './feedback';

interface LogState {
  text: string;
  lastSeq: number;
  attempt: number | null;
  attemptState: AttemptState | null;
  error: unknown;
  loading: boolean;
}

const FOLLOW_EVERY_MS = 1_000;

/**
 * A task's log for one attempt (the latest by default). With "follow" on, it
 * asks again with `?since=<X-Baton-Last-Seq>` every second and appends, until
 * the attempt has finished (what `baton logs --follow` does). Give it a `key`
 * per run, task and attempt, so another log starts from a blank state.
 */
export function LogViewer({ runId, taskKey, attempt }: { runId: string; taskKey: string; attempt: number | null }) {
  const { t } = useTranslation();
  const [follow, setFollow] = useState(true);
  const [log, setLog] = useState<LogState>({
    text: '',
    lastSeq: -1,
    attempt: null,
    attemptState: null,
    error: null,
    loading: true,
  });
  const pre = useRef<HTMLPreElement>(null);
  const stuckToBottom = useRef(true);

  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let since = -1;
    let text = '';
    const fetchOnce = async () => {
      const res = await client.GET('/api/v1/runs/{id}/tasks/{key}/logs', {
        params: {
          path: { id: runId, key: taskKey },
          query: { ...(attempt ? { attempt } : {}), ...(since >= 0 ? { since } : {}) },
        },
        parseAs: 'text',
      });
      if (stopped) return;
      const { response } = res;
      if (!response.ok) {
        const error: unknown = res.error ?? new Error(`HTTP ${response.status}`);
        setLog((l) => ({ ...l, error, loading: false }));
        return;
      }
      // An empty log comes as Content-Length: 0, which openapi-fetch reads as no data.
      text += res.data ?? '';
      since = Number(response.headers.get('X-Baton-Last-Seq') ?? since);
      const attemptState = (response.headers.get('X-Baton-Attempt-State') as AttemptState | null) ?? null;
      const n = response.headers.get('X-Baton-Attempt');
      setLog({ text, lastSeq: since, attempt: n ? Number(n) : null, attemptState, error: null, loading: false });
      const done = attemptState !== null && isFinished(attemptState);
      if (follow && !done) timer = setTimeout(() => void fetchOnce(), FOLLOW_EVERY_MS);
    };
    void fetchOnce().catch((err: unknown) => !stopped && setLog((l) => ({ ...l, error: err, loading: false })));
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [runId, taskKey, attempt, follow]);

  useEffect(() => {
    const el = pre.current;
    if (el && stuckToBottom.current) el.scrollTop = el.scrollHeight;
  }, [log.text]);

  const live = follow && log.attemptState !== null && !isFinished(log.attemptState);
  return (
    <section className="log" aria-label={t('log.title', { task: taskKey })}>
      <div className="log-toolbar">
        <strong>{t('log.title', { task: taskKey })}</strong>
        {log.attempt !== null && <span className="muted">{t('run.attemptN', { n: log.attempt })}</span>}
        {live && (
          <span className="live" role="status">
            {t('log.following')}
          </span>
        )}
        <label className="switch">
          <input type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          <span>{t('log.follow')}</span>
        </label>
      </div>
      {log.loading ? (
        <Loading />
      ) : log.error ? (
        <ErrorState error={log.error} />
      ) : (
        <pre
          ref={pre}
          className="log-text"
          tabIndex={0}
          data-testid="log-text"
          onScroll={(e) => {
            const el = e.currentTarget;
            stuckToBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
          }}
        >
          {log.text || (log.attempt === null ? t('log.noAttempt') : t('log.empty'))}
        </pre>
      )}
    </section>
  );
}
