import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { type AddressInfo } from 'node:net';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentProcess,
  type Platform,
  ROOT,
  type TestDatabase,
  createTestDatabase,
  startAgentProcess,
  startPlatform,
  testDatabaseKinds,
  waitFor,
} from '@baton/testing';

const kinds = await testDatabaseKinds();

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  boolValue?: boolean;
}

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: Array<{ key: string; value: OtlpValue }>;
  /** The exporting process's `service.name`. */
  service: string;
}

/** A real OTLP/HTTP receiver: decodes the JSON the exporters POST to /v1/traces (and accepts /v1/metrics). */
async function startReceiver() {
  const spans: OtlpSpan[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      if (req.url === '/v1/traces') {
        const doc = JSON.parse(body.toString('utf8')) as {
          resourceSpans?: Array<{
            resource?: { attributes?: Array<{ key: string; value: OtlpValue }> };
            scopeSpans?: Array<{ spans?: Array<Omit<OtlpSpan, 'service'>> }>;
          }>;
        };
        for (const rs of doc.resourceSpans ?? []) {
          const service = rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '';
          for (const ss of rs.scopeSpans ?? []) for (const s of ss.spans ?? []) spans.push({ ...s, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    spans,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const attr = (s: OtlpSpan, key: string) => {
  const v = s.attributes?.find((a) => a.key === key)?.value;
  return v?.stringValue ?? (v?.intValue !== undefined ? Number(v.intValue) : v?.boolValue);
};

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

describe('one trace from a webhook call to the agent execution (sqlite, OTLP/HTTP receiver)', () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let platform: Platform;
  let agent: AgentProcess;

  beforeAll(async () => {
    receiver = await startReceiver();
    const otel = {
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
    };
    platform = await startPlatform({ databaseUrl: null, env: otel });
    agent = startAgentProcess({
      server: platform.grpc,
      token: await platform.agentToken(),
      name: 'traced-agent',
      workDir: mkdtempSync(join(tmpdir(), 'baton-otel-agent-')),
      env: otel,
    });
  });
  afterAll(async () => {
    await agent?.stop();
    await platform?.stop();
    await receiver?.close();
  });

  it('exports the webhook call, the run, the attempt with its queue wait and dispatch, and the agent span', async () => {
    const put = await platform.api('PUT', '/api/v1/jobs/traced', {
      name: 'traced',
      triggers: [{ type: 'webhook', params: { order: '{{ body.order }}' } }],
      tasks: [
        { key: 'work', type: 'shell', command: 'printf \'{"traceparent":"%s"}\' "$TRACEPARENT" > "$BATON_OUTPUT"' },
      ],
    });
    expect(put.status, JSON.stringify(put.body)).toBe(201);
    const hook = await platform.api('POST', '/api/v1/jobs/traced/triggers/0/secret');
    expect(hook.status, JSON.stringify(hook.body)).toBe(200);
    const { triggerId, secret } = hook.body as { triggerId: string; secret: string };

    const [callerTrace, callerSpan] = [hex(16), hex(8)];
    const body = JSON.stringify({ order: 7 });
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${platform.url}/hooks/${triggerId}`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'x-baton-timestamp': String(ts),
        'x-baton-signature': `sha256=${createHmac('sha256', secret).update(`${ts}.${body}`).digest('hex')}`,
        traceparent: `00-${callerTrace}-${callerSpan}-01`,
      },
    });
    expect(res.status).toBe(202);
    const run = await waitFor('the webhook run to succeed', async () => {
      const items = (await platform.api('GET', '/api/v1/runs?job=traced')).body.items as Array<{
        id: string;
        state: string;
        traceId: string | null;
      }>;
      return items[0]?.state === 'succeeded' ? items[0] : null;
    });
    expect(run.traceId).toBe(callerTrace);

    const names = ['POST /hooks/:triggerId', 'RUN traced', 'work', 'queue wait', 'dispatch', 'execute work'];
    const spans = await waitFor(
      'the spans to reach the receiver',
      async () => {
        const mine = receiver.spans.filter((s) => s.traceId === callerTrace);
        return names.every((n) => mine.some((s) => s.name === n)) ? mine : null;
      },
      20_000,
    );
    const one = (name: string) => {
      const found = spans.filter((s) => s.name === name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const http = one('POST /hooks/:triggerId');
    const runSpan = one('RUN traced');
    const attempt = one('work');
    const exec = one('execute work');
    // The caller's span -> the webhook call -> the run -> the attempt -> queue wait, dispatch and the agent's span.
    expect(http.parentSpanId).toBe(callerSpan);
    expect(runSpan.parentSpanId).toBe(http.spanId);
    expect(attempt.parentSpanId).toBe(runSpan.spanId);
    expect(one('queue wait').parentSpanId).toBe(attempt.spanId);
    expect(one('dispatch').parentSpanId).toBe(attempt.spanId);
    expect(exec.parentSpanId).toBe(attempt.spanId);
    // Exported by two processes: the platform and the agent that ran the task.
    expect([http.service, runSpan.service, exec.service]).toEqual([
      'baton-standalone',
      'baton-standalone',
      'baton-agent',
    ]);
    expect(attr(runSpan, 'cicd.pipeline.name')).toBe('traced');
    expect(attr(runSpan, 'cicd.pipeline.run.id')).toBe(run.id);
    expect(attr(runSpan, 'cicd.pipeline.result')).toBe('success');
    expect(attr(runSpan, 'baton.run')).toBe(run.id);
    expect(attr(runSpan, 'baton.tenant')).toEqual(expect.any(String));
    expect(attr(attempt, 'cicd.pipeline.task.name')).toBe('work');
    expect(attr(attempt, 'baton.attempt')).toBe(1);
    expect(attr(exec, 'cicd.worker.name')).toBe('traced-agent');

    // The task itself was handed the agent span's context as TRACEPARENT.
    const view = await platform.api('GET', `/api/v1/runs/${run.id}`);
    const task = (view.body.tasks as Array<{ key: string; output: { traceparent?: string } | null }>).find(
      (t) => t.key === 'work',
    );
    expect(task?.output?.traceparent).toBe(`00-${callerTrace}-${exec.spanId}-01`);
  });
});

/** The metric names a PromQL text uses. */
const metricsIn = (text: string) => [...text.matchAll(/\bbaton_[a-z_]+\b/g)].map((m) => m[0]);

describe.each(kinds)('metrics on /metrics, and the dashboard and alert rules that use them (%s)', (kind) => {
  let db: TestDatabase;
  let platform: Platform;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    platform = await startPlatform({ databaseUrl: db.url, localAgent: true });
  });
  afterAll(async () => {
    await platform?.stop();
    await db?.drop();
  });

  it('serves every metric deploy/observability uses, after runs that exercise them', async () => {
    const apply = async (job: Record<string, unknown>) => {
      const r = await platform.api('PUT', `/api/v1/jobs/${String(job['name'])}`, job);
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    };
    // A retry, a time-triggered run (schedule delay) and a job with an SLA.
    await apply({
      name: 'obs-retry',
      tasks: [
        {
          key: 'flaky',
          type: 'shell',
          command: 'test "$BATON_ATTEMPT" -gt 1',
          retry: { maxAttempts: 2, backoff: 'immediate' },
        },
      ],
    });
    await apply({
      name: 'obs-once',
      triggers: [{ type: 'once', at: new Date(Date.now() + 1_500).toISOString() }],
      tasks: [{ key: 'n', type: 'noop' }],
    });
    await apply({ name: 'obs-sla', sla: { maxDuration: '1h' }, tasks: [{ key: 'n', type: 'noop' }] });
    for (const job of ['obs-retry', 'obs-sla']) {
      expect((await platform.api('POST', `/api/v1/jobs/${job}/runs`, {})).status).toBe(201);
    }
    for (const job of ['obs-retry', 'obs-once', 'obs-sla']) {
      await waitFor(`a succeeded run of ${job}`, async () => {
        const items = (await platform.api('GET', `/api/v1/runs?job=${job}`)).body.items as Array<{ state: string }>;
        return items.some((r) => r.state === 'succeeded');
      });
    }
    await waitFor('the SLA of obs-sla to be decided', async () => {
      const r = await platform.api('GET', '/api/v1/sla?job=obs-sla');
      return r.status === 200 && (r.body.items as unknown[]).length > 0;
    });

    const res = await fetch(`${platform.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    const series = new Set(
      text
        .split('\n')
        .filter((l) => l.startsWith('baton_'))
        .map((l) => /^[a-z_]+/.exec(l)![0]),
    );

    const dashboard = JSON.parse(readFileSync(join(ROOT, 'deploy/observability/grafana-dashboard.json'), 'utf8')) as {
      panels: Array<{ title: string; targets: Array<{ expr: string }> }>;
    };
    const rules = parse(readFileSync(join(ROOT, 'deploy/observability/alerts.yaml'), 'utf8')) as {
      groups: Array<{ rules: Array<{ alert: string; expr: string }> }>;
    };
    const used = new Set([
      ...dashboard.panels.flatMap((p) => p.targets.flatMap((t) => metricsIn(t.expr))),
      ...rules.groups.flatMap((g) => g.rules.flatMap((r) => metricsIn(r.expr))),
    ]);
    expect(used.size).toBeGreaterThan(10);
    expect(
      [...used].filter((m) => !series.has(m)),
      `missing on /metrics:\n${text}`,
    ).toEqual([]);
    expect(rules.groups.flatMap((g) => g.rules).every((r) => r.alert && r.expr)).toBe(true);

    // The schedule delay counts the time-triggered run only, labelled by tenant and job.
    expect(text).toMatch(/^baton_schedule_delay_seconds_count\{tenant="[^"]+",job_name="obs-once"\} 1$/m);
    expect(text).not.toMatch(/^baton_schedule_delay_seconds_count\{[^}]*job_name="obs-retry"/m);
    expect(text).toMatch(/^baton_retries_total\{tenant="[^"]+",job_name="obs-retry"\} 1$/m);
    expect(text).toMatch(/^baton_tenant_info\{tenant="[^"]+",name="default"\} 1$/m);
  });
});
