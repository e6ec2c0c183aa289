import { describe, expect, it } from 'vitest';
import { LabelCap } from './metrics.js';
import { batonMetrics, prometheusText } from './otel.js';

describe('LabelCap', () => {
  it.each([
    // [max jobs, max tenants, (tenant, job) pairs in order, expected labels of the last]
    [2, 10, [['t1', 'a']], { tenant: 't1', job: 'a' }],
    [
      2,
      10,
      [
        ['t1', 'a'],
        ['t1', 'b'],
        ['t1', 'c'],
      ],
      { tenant: 't1', job: 'other' },
    ],
    [
      2,
      10,
      [
        ['t1', 'a'],
        ['t1', 'b'],
        ['t1', 'c'],
        ['t1', 'a'],
      ],
      { tenant: 't1', job: 'a' },
    ],
    [
      2,
      10,
      [
        ['t1', 'a'],
        ['t1', 'b'],
        ['t2', 'c'],
      ],
      { tenant: 't2', job: 'c' },
    ],
    [
      5,
      1,
      [
        ['t1', 'a'],
        ['t2', 'a'],
      ],
      { tenant: 'other', job: 'other' },
    ],
    [
      5,
      1,
      [
        ['t1', 'a'],
        ['t2', 'a'],
        ['t1', 'b'],
      ],
      { tenant: 't1', job: 'b' },
    ],
  ] as Array<[number, number, Array<[string, string]>, { tenant: string; job: string }]>)(
    'jobs %i, tenants %i: %j gives %j',
    (maxJobs, maxTenants, pairs, expected) => {
      const cap = new LabelCap(maxJobs, maxTenants);
      let last: { tenant: string; job: string } | null = null;
      for (const [t, j] of pairs) last = cap.labels(t, j);
      expect(last).toEqual(expected);
    },
  );
});

describe('Prometheus text through OpenTelemetry', () => {
  it('exports counters with _total, histograms with buckets, and scrape-time gauges', async () => {
    const m = batonMetrics();
    m.attempts.add(2, { outcome: 'succeeded' });
    m.runCreated({ tenantId: 't1', jobName: 'nightly', triggerType: 'cron', logicalDate: 1_000, createdAt: 1_250 });
    // Not a time trigger: no schedule delay, however old its logical date.
    m.runCreated({ tenantId: 't1', jobName: 'downstream', triggerType: 'dependency', logicalDate: 0, createdAt: 9e11 });
    // Created ahead of its slot: counted when it starts, from its start (0.04 s late).
    const ahead = { tenantId: 't1', jobName: 'early', triggerType: 'cron', logicalDate: 5_000 };
    m.runCreated({ ...ahead, createdAt: 3_000, state: 'scheduled' });
    m.runStarted({ ...ahead, startedAt: 5_040 });
    m.attemptEnded('t1', 'nightly', 'lost', 1_000, 3_000);
    const stop = m.gauges({ baton_test_gauge: 'a test gauge' }, async (observe) => {
      observe('baton_test_gauge', 7, { state: 'x' });
    });
    const text = await prometheusText();
    stop();
    expect(text).toMatch(/^baton_attempts_total\{outcome="succeeded"\} 2$/m);
    expect(text).toMatch(/^baton_schedule_delay_seconds_count\{tenant="t1",job_name="nightly"\} 1$/m);
    expect(text).toMatch(/^baton_schedule_delay_seconds_bucket\{tenant="t1",job_name="nightly",le="0\.25"\} 1$/m);
    expect(text).not.toContain('job_name="downstream"');
    expect(text).toMatch(/^baton_schedule_delay_seconds_count\{tenant="t1",job_name="early"\} 1$/m);
    expect(text).toMatch(/^baton_schedule_delay_seconds_bucket\{tenant="t1",job_name="early",le="0\.05"\} 1$/m);
    expect(text).toMatch(/^baton_task_duration_seconds_sum\{tenant="t1",job_name="nightly",outcome="lost"\} 2$/m);
    expect(text).toMatch(/^baton_attempts_lost_total\{tenant="t1",job_name="nightly"\} 1$/m);
    expect(text).toMatch(/^baton_test_gauge\{state="x"\} 7$/m);
    expect(text).toContain('# TYPE baton_task_duration_seconds histogram');
  });
});
