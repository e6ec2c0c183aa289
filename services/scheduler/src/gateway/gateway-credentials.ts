import { createSecureContext } from 'node:tls';
import { ServerCredentials } from '@grpc/grpc-js';
import { type BatonConfig, ConfigError, readPem } from '@baton/config';

export interface GatewayTransport {
  credentials: ServerCredentials;
  /** 'plaintext', 'tls', or 'mtls' (a client certificate signed by the client CA is required). */
  security: 'plaintext' | 'tls' | 'mtls';
}

/**
 * The gateway's transport from the configuration: TLS with BATON_GRPC_TLS_CERT / _KEY, mutual TLS with
 * BATON_GRPC_TLS_CLIENT_CA too. Production mode refuses plaintext unless BATON_GRPC_ALLOW_PLAINTEXT says so:
 * agent tokens and task secrets cross this connection.
 */
export function gatewayTransport(config: Pick<BatonConfig, 'mode' | 'grpc'>): GatewayTransport {
  const tls = config.grpc.tls;
  if (!tls) {
    if (config.mode === 'production' && !config.grpc.allowPlaintext) {
      throw new ConfigError([
        'BATON_GRPC_TLS_CERT: production mode refuses a plaintext agent gateway: set BATON_GRPC_TLS_CERT and ' +
          'BATON_GRPC_TLS_KEY (PEM files; BATON_GRPC_TLS_CLIENT_CA for mutual TLS), or BATON_GRPC_ALLOW_PLAINTEXT=true ' +
          'when TLS ends in front of the gateway or the network is trusted',
      ]);
    }
    return { credentials: ServerCredentials.createInsecure(), security: 'plaintext' };
  }
  const problems: string[] = [];
  const read = (file: string, variable: string) => {
    try {
      return readPem(file, variable);
    } catch (err) {
      if (err instanceof ConfigError) problems.push(...err.problems);
      else throw err;
      return Buffer.alloc(0);
    }
  };
  const cert = read(tls.certFile, 'BATON_GRPC_TLS_CERT');
  const key = read(tls.keyFile, 'BATON_GRPC_TLS_KEY');
  const clientCa = tls.clientCaFile ? read(tls.clientCaFile, 'BATON_GRPC_TLS_CLIENT_CA') : null;
  if (problems.length > 0) throw new ConfigError(problems);
  try {
    // What grpc-js would only find when it binds, said here with the variables' names.
    createSecureContext({ cert, key, ...(clientCa ? { ca: clientCa } : {}) });
  } catch (err) {
    throw new ConfigError([
      `BATON_GRPC_TLS_KEY: the certificate and key are not a usable pair (${err instanceof Error ? err.message : String(err)})`,
    ]);
  }
  return {
    credentials: ServerCredentials.createSsl(clientCa, [{ cert_chain: cert, private_key: key }], clientCa !== null),
    security: clientCa ? 'mtls' : 'tls',
  };
}
