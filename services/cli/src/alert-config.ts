import { type ApiClient, CliError } from './client.js';

type Out = (line: string) => void;

interface ChannelView {
  name: string;
  type: string;
  url: string | null;
  to: string[] | null;
  hasSecret: boolean;
  updatedAt: string;
}

interface RuleView {
  name: string;
  events: string[];
  jobs: string[];
  channels: string[];
  throttleMs: number;
  agentOfflineAfterMs?: number;
  enabled: boolean;
  updatedAt: string;
}

const pad = (s: string, n: number) => s.padEnd(n);
const path = (kind: 'alert-channels' | 'alert-rules', name: string) => `/api/v1/${kind}/${encodeURIComponent(name)}`;

/** `a,b` and repeated flags alike: `--to a@x --to b@y` or `--to a@x,b@y`. */
export function collectList(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((v) => v.trim())
      .filter(Boolean),
  ];
}

/** A duration in milliseconds as the API's rules take it back (`10m`, `90s`, `1h30m`). */
export function formatDuration(ms: number): string {
  if (ms === 0) return '-';
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  if (rest > 0) parts.push(`${rest}ms`);
  return parts.join('');
}

export interface ChannelOptions {
  type: string;
  url?: string;
  to?: string[];
  secret?: string;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.replace(/\r?\n$/, '');
}

/** `baton alert-channel set NAME --type webhook --url URL [--secret S|-]` / `--type email --to a,b`. */
export async function setChannel(api: ApiClient, name: string, o: ChannelOptions, out: Out): Promise<void> {
  // `--secret -` reads it from standard input, out of the shell history and the process list.
  const secret = o.secret === '-' ? await readStdin() : o.secret;
  if (o.secret === '-' && !secret) throw new CliError('--secret -: standard input was empty');
  const body = {
    type: o.type,
    ...(o.url !== undefined ? { url: o.url } : {}),
    ...(o.to !== undefined ? { to: o.to } : {}),
    ...(secret !== undefined ? { secret } : {}),
  };
  const { body: c, status } = await api.exchange<ChannelView>('PUT', path('alert-channels', name), body);
  const where = c.type === 'email' ? (c.to ?? []).join(', ') : (c.url ?? '');
  out(
    `alert channel ${c.name} ${status === 201 ? 'created' : 'replaced'}: ${c.type} ${where}${c.hasSecret ? ' (signed)' : ''}`,
  );
}

export async function deleteChannel(api: ApiClient, name: string, out: Out): Promise<void> {
  await api.request('DELETE', path('alert-channels', name));
  out(`alert channel ${name} deleted`);
}

/** `baton alert-channels`: the tenant's channels (a webhook's secret is never shown). */
export async function listChannels(api: ApiClient, out: Out): Promise<void> {
  const r = await api.request<{ items: ChannelView[] }>('GET', '/api/v1/alert-channels');
  out(`${pad('CHANNEL', 24)} ${pad('TYPE', 8)} ${pad('SIGNED', 6)} ${pad('UPDATED', 25)} WHERE`);
  for (const c of r.items) {
    const where = c.type === 'email' ? (c.to ?? []).join(', ') : (c.url ?? '');
    out(`${pad(c.name, 24)} ${pad(c.type, 8)} ${pad(c.hasSecret ? 'yes' : 'no', 6)} ${pad(c.updatedAt, 25)} ${where}`);
  }
}

export interface RuleOptions {
  events: string[];
  jobs?: string[];
  channels: string[];
  throttle?: string;
  agentOfflineAfter?: string;
  disabled?: boolean;
}

/** `baton alert-rule set NAME --events a,b --channels c [--jobs j,k] [--throttle 10m]`. */
export async function setRule(api: ApiClient, name: string, o: RuleOptions, out: Out): Promise<void> {
  const body = {
    events: o.events,
    jobs: o.jobs ?? [],
    channels: o.channels,
    ...(o.throttle !== undefined ? { throttle: o.throttle } : {}),
    ...(o.agentOfflineAfter !== undefined ? { agentOfflineAfter: o.agentOfflineAfter } : {}),
    ...(o.disabled ? { enabled: false } : {}),
  };
  const { body: r, status } = await api.exchange<RuleView>('PUT', path('alert-rules', name), body);
  const jobs = r.jobs.length > 0 ? r.jobs.join(',') : 'every job';
  const throttle = r.throttleMs > 0 ? `, at most one per job every ${formatDuration(r.throttleMs)}` : '';
  out(
    `alert rule ${r.name} ${status === 201 ? 'created' : 'replaced'}: ${r.events.join(',')} of ${jobs} to ${r.channels.join(',')}${throttle}${r.enabled ? '' : ' (disabled)'}`,
  );
}

export async function deleteRule(api: ApiClient, name: string, out: Out): Promise<void> {
  await api.request('DELETE', path('alert-rules', name));
  out(`alert rule ${name} deleted`);
}

/** `baton alert-rules`: the tenant's rules. */
export async function listRules(api: ApiClient, out: Out): Promise<void> {
  const r = await api.request<{ items: RuleView[] }>('GET', '/api/v1/alert-rules');
  out(
    `${pad('RULE', 24)} ${pad('EVENTS', 32)} ${pad('JOBS', 20)} ${pad('CHANNELS', 20)} ${pad('THROTTLE', 8)} ENABLED`,
  );
  for (const x of r.items) {
    out(
      `${pad(x.name, 24)} ${pad(x.events.join(','), 32)} ${pad(x.jobs.length > 0 ? x.jobs.join(',') : '*', 20)} ${pad(x.channels.join(','), 20)} ${pad(formatDuration(x.throttleMs), 8)} ${x.enabled ? 'yes' : 'no'}`,
    );
  }
}
