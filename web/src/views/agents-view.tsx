'use client';

import { useTranslation } from 'react-i18next';
import { type Agent, api } from '@/api/client';
import { Empty, ErrorState, Loading, useTitle } from '@/components/feedback';
import { ChoiceFilter } from '@/components/filters';
import { useFormatters } from '@/lib/prefs';
import { useQueryState } from '@/lib/url';

const STATUSES = ['connected', 'disconnected'] as const;

export function SlotMeter({ agent }: { agent: Agent }) {
  const { t } = useTranslation();
  const pct = agent.slots > 0 ? Math.min(100, (agent.running / agent.slots) * 100) : 0;
  return (
    <span className="meter-wrap">
      <meter min={0} max={agent.slots || 1} value={agent.running} aria-label={t('agents.slotsInUse')} />
      <span className="num">{t('agents.slotsOf', { used: agent.running, total: agent.slots })}</span>
      <span className="visually-hidden">{Math.round(pct)}%</span>
    </span>
  );
}

export function AgentStatus({ agent }: { agent: Agent }) {
  const { t } = useTranslation();
  return (
    <span className={`badge tone-${agent.status === 'connected' ? 'ok' : 'muted'}`} data-status={agent.status}>
      <span className="dot" aria-hidden="true" />
      {t(`agents.status.${agent.status}`)}
    </span>
  );
}

export function AgentsView() {
  const { t } = useTranslation();
  const f = useFormatters();
  useTitle(t('agents.title'));
  const [params] = useQueryState();
  const statusParam = params.get('status');
  const status = STATUSES.find((s) => s === statusParam) ?? null;
  const agents = api.useQuery('get', '/api/v1/agents', {}, { refetchInterval: 5_000 });
  const shown = agents.data?.items.filter((a) => !status || a.status === status) ?? [];
  return (
    <div className="page">
      <div className="page-head">
        <h1>{t('agents.title')}</h1>
        <ChoiceFilter
          name="status"
          label={t('agents.statusFilter')}
          any={t('agents.anyStatus')}
          options={STATUSES.map((s) => ({ value: s, label: t(`agents.status.${s}`) }))}
        />
      </div>
      {agents.isPending ? (
        <Loading />
      ) : agents.isError ? (
        <ErrorState error={agents.error} onRetry={() => void agents.refetch()} />
      ) : shown.length === 0 ? (
        <Empty title={status ? t('agents.noneInStatus') : t('agents.empty')}>
          {!status && (
            <>
              {t('agents.emptyHint')}{' '}
              <code>npx baton agent --server 127.0.0.1:7070 --token $(npx baton agent-token create)</code>
            </>
          )}
        </Empty>
      ) : (
        <div className="table-wrap">
          <table className="table" data-testid="agents-table">
            <caption className="visually-hidden">{t('agents.title')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('agents.name')}</th>
                <th scope="col">{t('agents.statusLabel')}</th>
                <th scope="col">{t('agents.slotsInUse')}</th>
                <th scope="col">{t('agents.labels')}</th>
                <th scope="col">{t('agents.version')}</th>
                <th scope="col">{t('agents.capacity')}</th>
                <th scope="col">{t('agents.lastHeartbeat')}</th>
                <th scope="col">{t('agents.connectedAt')}</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((a) => (
                <tr key={a.id} data-agent={a.name}>
                  <th scope="row">{a.name}</th>
                  <td>
                    <AgentStatus agent={a} />
                  </td>
                  <td>
                    <SlotMeter agent={a} />
                  </td>
                  <td>
                    {Object.keys(a.labels).length === 0 ? (
                      <span className="muted">{t('common.none')}</span>
                    ) : (
                      <ul className="chips">
                        {Object.entries(a.labels).map(([k, v]) => (
                          <li key={k} className="chip mono">
                            {k}={v}
                          </li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td>{a.version || <span className="muted">{t('common.unknown')}</span>}</td>
                  <td className="small">
                    {t('agents.cpu', { n: ((a.cpuMillis ?? 0) / 1000).toFixed(1) })} ·{' '}
                    {t('agents.memory', { n: ((a.memoryMb ?? 0) / 1024).toFixed(1) })}
                  </td>
                  <td>
                    <span className="cell-stack">
                      <span title={f.instant(a.lastSeenAt, { ms: true })}>{f.relative(a.lastSeenAt)}</span>
                      <span className="muted small">{f.instant(a.lastSeenAt)}</span>
                    </span>
                  </td>
                  <td>{f.instant(a.connectedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
