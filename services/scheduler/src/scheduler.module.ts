import { Module } from '@nestjs/common';
import { OUTBOX_RELAY, type OutboxRelay } from '@baton/bus';
import { Database, TransitionStore } from '@baton/persistence';
import { AgentsController } from './agents/agents.controller.js';
import { SchedulerGauges } from './metrics/scheduler-gauges.js';
import { BackfillsController } from './backfills/backfills.controller.js';
import { BackfillsService } from './backfills/backfills.service.js';
import { AgentCommands } from './engine/agent-commands.js';
import { AgentDirectory } from './engine/agents.js';
import { Alarm } from './engine/alarm.js';
import { DefinitionCache } from './engine/definitions.js';
import { Dispatcher } from './engine/dispatcher.js';
import { ReadinessGate } from './engine/readiness-gate.js';
import { Compensation } from './engine/compensation.js';
import { Completion } from './engine/completion.js';
import { RunFinishHooks } from './engine/run-finish-hooks.js';
import { EngineResources } from './engine/engine-resources.js';
import { OperatorActions } from './engine/operator-actions.js';
import { RunCreation } from './engine/run-creation.js';
import { RunEngine } from './engine/run-engine.js';
import { TaskRenderer } from './engine/task-renderer.js';
import { Timers } from './engine/timers.js';
import { PeerWakeups } from './engine/peer-wakeups.js';
import { Wakeups } from './engine/wakeups.js';
import { AgentGateway } from './gateway/agent-gateway.js';
import { FileTriggers } from './gateway/file-triggers.js';
import { GridModule } from './grid/grid.module.js';
import { LogSink } from './logs/log-sink.js';
import { SessionRegistry } from './gateway/sessions.js';
import { PoolsController } from './pools/pools.controller.js';
import { PoolsService } from './pools/pools.service.js';
import { RunsController } from './runs/runs.controller.js';
import { ScheduledStarts } from './runs/scheduled-starts.js';
import { RunRequestIntake } from './runs/run-requests.js';
import { RunsService } from './runs/runs.service.js';

/** Runs, the task state machine, dispatch to agents over gRPC, retries and timeouts. */
@Module({
  imports: [GridModule],
  controllers: [RunsController, AgentsController, BackfillsController, PoolsController],
  providers: [
    AgentCommands,
    Alarm,
    AgentGateway,
    BackfillsService,
    DefinitionCache,
    FileTriggers,
    Dispatcher,
    LogSink,
    PoolsService,
    ReadinessGate,
    EngineResources,
    RunCreation,
    Completion,
    RunFinishHooks,
    Compensation,
    OperatorActions,
    RunEngine,
    RunRequestIntake,
    ScheduledStarts,
    RunsService,
    SchedulerGauges,
    SessionRegistry,
    // The engine sees agents through its own port; the gateway's registry implements it.
    { provide: AgentDirectory, useExisting: SessionRegistry },
    TaskRenderer,
    Timers,
    Wakeups,
    PeerWakeups,
    {
      // The one writer of run, task and attempt states; it wakes the relay for the events written beside a move.
      provide: TransitionStore,
      useFactory: (db: Database, relay: OutboxRelay) => new TransitionStore(db, () => relay.kick()),
      inject: [Database, OUTBOX_RELAY],
    },
  ],
  exports: [AgentGateway, RunsService],
})
export class SchedulerModule {}
