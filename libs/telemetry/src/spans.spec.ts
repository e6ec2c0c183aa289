import { describe, expect, it } from 'vitest';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createLogger } from './logger.js';
import { DEFAULT_TELEMETRY, startTelemetry } from './otel.js';
import {
  attemptTraceparent,
  recordAttemptSpan,
  recordDispatchSpans,
  recordRunSpan,
  runEventHeaders,
  startExecutionSpan,
} from './spans.js';
import { creationTraceparent, parseTraceparent, spanIdOf, withRemoteContext, withSpan } from './trace.js';

const memory = new InMemorySpanExporter();
startTelemetry(DEFAULT_TELEMETRY, 'baton-test', undefined, { spanExporters: [memory] });

const uuid = (tail: string) => `01a20d06-9f87-7550-${tail.slice(0, 4)}-${tail.slice(4)}`;

describe('the spans of a run', () => {
  it('chain the call that created a run, the run, an attempt, its dispatch and the agent execution in one trace', async () => {
    memory.reset();
    const caller = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const run = {
      id: uuid('8111aaaabbbbcccc'),
      tenantId: 't1',
      jobName: 'nightly',
      traceparent: null as string | null,
    };
    await withSpan('POST /hooks/:triggerId', { parent: caller }, async () => {
      run.traceparent = creationTraceparent(null);
    });
    const attemptId = uuid('9222ddddeeeeffff');
    const assign = attemptTraceparent(run, attemptId);
    const now = Date.now();
    const attempt = { id: attemptId, taskKey: 'extract', number: 1, agentId: 'agent-1', assignedAt: now - 5 };
    recordDispatchSpans(run, attempt, now - 10, now - 5, now - 4);
    const exec = startExecutionSpan(assign, {
      attemptId,
      runId: run.id,
      taskKey: 'extract',
      attemptNumber: 1,
      type: 'shell',
      agent: 'local',
    })!;
    expect(parseTraceparent(exec.traceparent)!.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    exec.end('succeeded', 0, '');
    recordAttemptSpan(run, attempt, 'succeeded', now, null);
    recordRunSpan({ ...run, createdAt: now - 20, triggerType: 'webhook', logicalDate: now - 20 }, 'succeeded', now);

    const spans = memory.getFinishedSpans();
    const byName = new Map(spans.map((s) => [s.name, s]));
    expect([...byName.keys()].sort()).toEqual(
      ['POST /hooks/:triggerId', 'RUN nightly', 'dispatch', 'execute extract', 'extract', 'queue wait'].sort(),
    );
    for (const s of spans) expect(s.spanContext().traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    const parentOf = (name: string) => byName.get(name)!.parentSpanContext?.spanId;
    const idOf = (name: string) => byName.get(name)!.spanContext().spanId;
    expect(parentOf('POST /hooks/:triggerId')).toBe('00f067aa0ba902b7');
    expect(parentOf('RUN nightly')).toBe(idOf('POST /hooks/:triggerId'));
    expect(idOf('RUN nightly')).toBe(spanIdOf(run.id));
    expect(parentOf('extract')).toBe(idOf('RUN nightly'));
    expect(idOf('extract')).toBe(spanIdOf(attemptId));
    for (const child of ['queue wait', 'dispatch', 'execute extract']) expect(parentOf(child)).toBe(idOf('extract'));
    expect(byName.get('RUN nightly')!.attributes).toMatchObject({
      'cicd.pipeline.name': 'nightly',
      'cicd.pipeline.run.id': run.id,
      'cicd.pipeline.result': 'success',
      'baton.tenant': 't1',
      'baton.run': run.id,
    });
    expect(byName.get('extract')!.attributes).toMatchObject({
      'cicd.pipeline.task.name': 'extract',
      'baton.attempt': 1,
      'cicd.pipeline.task.run.result': 'success',
    });
    // The run's events carry the run's span, so a consumer continues the trace under it.
    expect(runEventHeaders(run)).toEqual({ traceparent: `00-4bf92f3577b34da6a3ce929d0e0e4736-${spanIdOf(run.id)}-01` });
  });

  it('roots a run that nothing traced in a span of its own creation', () => {
    memory.reset();
    const tp = creationTraceparent(null, { 'cicd.pipeline.name': 'orphan' });
    const [root] = memory.getFinishedSpans();
    expect(root!.name).toBe('create run');
    expect(root!.spanContext().spanId).toBe(parseTraceparent(tp)!.spanId);
    expect(root!.spanContext().traceId).toBe(parseTraceparent(tp)!.traceId);
  });

  it("continues an event's trace context (its headers) in its handler", () => {
    const tp = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const seen = withRemoteContext({ traceparent: tp }, () => creationTraceparent(undefined));
    expect(seen).toBe(tp);
  });

  it('puts trace_id and span_id on log lines written inside a span', async () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', format: 'json', write: (l) => lines.push(l) });
    log.info('outside');
    let ids: { traceId: string; spanId: string } | null = null;
    await withSpan('work', {}, async (span) => {
      ids = span!.spanContext();
      log.info('inside', { token: 'secret-value' });
    });
    expect(JSON.parse(lines[0]!)).not.toHaveProperty('trace_id');
    expect(JSON.parse(lines[1]!)).toMatchObject({
      msg: 'inside',
      token: '***',
      trace_id: ids!.traceId,
      span_id: ids!.spanId,
    });
  });
});
