import { Module } from '@nestjs/common';
import { AgentsController } from './agents/agents.controller.js';
import { MetricsController } from './metrics/metrics.controller.js';
import { SchedulerMetrics } from './metrics/metrics.js';
import { BackfillsController } from './backfills/backfills.controller.js';
import { BackfillsService } from './backfills/backfills.service.js';
import { AgentCommands } from './engine/agent-commands.js';
import { DefinitionCache } from './engine/definitions.js';
import { Dispatcher } from './engine/dispatcher.js';
import { ReadinessGate } from './engine/readiness-gate.js';
import { RunEngine } from './engine/run-engine.js';
import { TaskRenderer } from './engine/task-renderer.js';
import { Timers } from './engine/timers.js';
import { Wakeups } from './engine/wakeups.js';
import { AgentGateway } from './gateway/agent-gateway.js';
import { FileTriggers } from './gateway/file-triggers.js';
import { LogSink } from './gateway/log-sink.js';
import { SessionRegistry } from './gateway/sessions.js';
import { RunsController } from './runs/runs.controller.js';
import { RunsService } from './runs/runs.service.js';

/** Runs, the task state machine, dispatch to agents over gRPC, retries and timeouts. */
@Module({
  controllers: [RunsController, AgentsController, BackfillsController, MetricsController],
  providers: [
    AgentCommands,
    AgentGateway,
    BackfillsService,
    DefinitionCache,
    FileTriggers,
    Dispatcher,
    LogSink,
    ReadinessGate,
    RunEngine,
    RunsService,
    SchedulerMetrics,
    SessionRegistry,
    TaskRenderer,
    Timers,
    Wakeups,
  ],
  exports: [AgentGateway, RunsService],
})
export class SchedulerModule {}
