export interface AgentLogger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
}

export interface AgentTlsOptions {
  /** The CA the gateway's certificate is verified against (default: the system's CAs). */
  ca?: Buffer;
  /** The client certificate and its key (mutual TLS). */
  cert?: Buffer;
  key?: Buffer;
  /** The name the gateway's certificate must carry when it differs from the host of `server`. */
  serverName?: string;
}

export interface AgentOptions {
  /** 'host:port' of the scheduler's gRPC gateway. */
  server: string;
  /** Per-agent token. */
  token: string;
  name: string;
  labels: Record<string, string>;
  /** Tasks run at once. */
  slots: number;
  /** Advertised capacity; defaults come from the host. */
  cpuMillis?: number;
  memoryMb?: number;
  /** Holds the result journal (workDir/journal) and per-attempt scratch dirs (workDir/runs). */
  workDir: string;
  /** null/undefined: plaintext. ca alone: TLS; cert + key as well: mutual TLS. */
  tls?: AgentTlsOptions | null;
  logger?: AgentLogger;
  version?: string;
  /** Reconnect backoff; default 200 ms .. 10 s, exponential with jitter. */
  reconnect?: { initialMs?: number; maxMs?: number };
  /** Base environment of child processes (default process.env). */
  /**
   * fsync each journaled result before sending it. A result survives a network
   * cut or an agent crash either way; fsync adds a power cut of the host, at a
   * cost per task. Without it, a result lost that way ends as a lost attempt
   * (its lease runs out) and follows the retry policy.
   */
  fsyncJournal?: boolean;
  baseEnv?: NodeJS.ProcessEnv;
}

export interface AgentHandle {
  /** Closes the stream, kills running process groups, resolves when done. */
  stop(): Promise<void>;
  readonly connected: boolean;
  readonly sessionId: string | null;
  /** Resolves once a Welcome has been received on the current stream. */
  waitConnected(timeoutMs?: number): Promise<void>;
}
