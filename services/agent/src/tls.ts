import { type AgentTlsEnv, ConfigError, readPem } from '@baton/config';
import type { AgentTlsOptions } from './types.js';

/**
 * The agent's TLS settings from file paths (flags or BATON_AGENT_TLS_*; `names` says what to call each in an
 * error). Nothing set and `tls` false: null (plaintext). A CA: TLS verifying the gateway against it (otherwise
 * against the system's CAs); a certificate and key: the client certificate of mutual TLS.
 */
export function loadAgentTls(
  files: AgentTlsEnv & { tls?: boolean },
  names: { ca: string; cert: string; key: string },
): AgentTlsOptions | null {
  if (!files.tls && !files.ca && !files.cert && !files.key && !files.serverName) return null;
  const problems: string[] = [];
  if (!!files.cert !== !!files.key) {
    problems.push(
      files.cert ? `${names.key}: required with ${names.cert}` : `${names.cert}: required with ${names.key}`,
    );
  }
  const read = (file: string | null, what: string): Buffer | undefined => {
    if (!file) return undefined;
    try {
      return readPem(file, what);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      problems.push(...err.problems);
      return undefined;
    }
  };
  const tls: AgentTlsOptions = {
    ca: read(files.ca, names.ca),
    cert: read(files.cert, names.cert),
    key: read(files.key, names.key),
    ...(files.serverName ? { serverName: files.serverName } : {}),
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return tls;
}
