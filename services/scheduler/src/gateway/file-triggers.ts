import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { basename, dirname } from 'node:path';
import { type FileTrigger, globToRegExp, labelsMatch } from '@baton/domain';
import { Database, TriggerEntity, scoped } from '@baton/persistence';
import {
  EVENT_BUS,
  type EventBus,
  OUTBOX_RELAY,
  type OutboxRelay,
  type RunRequested,
  requestRuns,
  topic,
} from '@baton/bus';
import { newId } from '@baton/persistence';
import { LOGGER, type Logger } from '@baton/telemetry';
import type { FileEvent, FileWatch } from '@baton/proto';
import { type AgentSession, SessionRegistry } from './sessions.js';

/**
 * File-arrival triggers: the agents a trigger selects watch its folder (the
 * gateway sends them the list in `Watch` after each Welcome and whenever jobs
 * change) and report files as `FileEvent`; each new (path, size, mtime)
 * becomes one run request, deduplicated across agents and reconnects.
 */
@Injectable()
export class FileTriggers implements OnApplicationBootstrap {
  private readonly log: Logger;

  constructor(
    private readonly db: Database,
    private readonly sessions: SessionRegistry,
    @Inject(EVENT_BUS) private readonly bus: EventBus,
    @Inject(OUTBOX_RELAY) private readonly relay: OutboxRelay,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child('files');
  }

  async onApplicationBootstrap(): Promise<void> {
    // Every replica updates the watches of its own sessions.
    await this.bus.subscribe(
      topic('catalog-events'),
      `gateway.files.${newId()}`,
      async (e) => {
        for (const s of this.sessions.all()) if (s.tenantId === e.tenantId) await this.sendWatches(s);
      },
      { latest: true },
    );
  }

  private async triggersOf(tenantId: string): Promise<Array<{ row: TriggerEntity; spec: FileTrigger }>> {
    const rows = await scoped(this.db.manager, { tenantId }).find(TriggerEntity, {
      where: { type: 'file', enabled: true },
    });
    return rows.map((row) => ({ row, spec: row.spec as unknown as FileTrigger }));
  }

  async sendWatches(s: AgentSession): Promise<void> {
    const watches: FileWatch[] = (await this.triggersOf(s.tenantId))
      .filter((t) => labelsMatch(t.spec.agentSelector ?? {}, s.labels))
      .map((t) => ({ triggerId: t.row.id, pathGlob: t.spec.path }));
    s.send({ msg: { $case: 'watch', value: { watches } } });
  }

  /** A file an agent saw: checked against the trigger (tenant, selector, path), then one run request. */
  async onFileEvent(s: AgentSession, e: FileEvent): Promise<void> {
    const t = (await this.triggersOf(s.tenantId)).find((x) => x.row.id === e.triggerId);
    if (
      !t ||
      !labelsMatch(t.spec.agentSelector ?? {}, s.labels) ||
      dirname(e.path) !== dirname(t.spec.path) ||
      !globToRegExp(basename(t.spec.path)).test(basename(e.path))
    ) {
      this.log.warn('file event ignored: it matches no file trigger of this agent', { agent: s.name, path: e.path });
      return;
    }
    const payload: RunRequested = {
      tenantId: s.tenantId,
      jobId: t.row.jobId,
      jobName: t.row.jobName,
      logicalDate: Date.now(),
      // Bounded to the column (paths can be long): the file's identity hashed.
      dedupeKey: `file:${t.row.id}:${createHash('sha256').update(`${e.path}\u0000${e.size}\u0000${e.mtimeMs}`).digest('hex')}`,
      triggerType: 'file',
      triggerId: t.row.id,
      params: {
        file: { path: e.path, name: basename(e.path), size: e.size, mtime: new Date(e.mtimeMs).toISOString() },
      },
      overlap: t.spec.overlap,
    };
    await this.db.tx((m) => requestRuns(this.db, m, [payload]));
    this.relay.kick();
  }
}
