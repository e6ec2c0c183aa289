import { type ApiClient, CliError } from './client.js';
import { readSecret } from './session.js';

type Out = (line: string) => void;

interface SecretView {
  name: string;
  keyId: string;
  createdAt: string;
  updatedAt: string;
  updatedBy: string;
}

const pad = (s: string, n: number) => s.padEnd(n);

export async function listSecrets(api: ApiClient, out: Out): Promise<void> {
  const page = await api.request<{ items: SecretView[] }>('GET', '/api/v1/secrets');
  out(`${pad('SECRET', 32)} ${pad('KEY', 10)} ${pad('UPDATED', 25)} BY`);
  for (const s of page.items) out(`${pad(s.name, 32)} ${pad(s.keyId, 10)} ${pad(s.updatedAt, 25)} ${s.updatedBy}`);
}

/**
 * The value to store: `--value`, else standard input (a terminal prompts
 * without echo; piped input is taken whole, minus one trailing newline, so a
 * multi-line key survives `baton secret set KEY < key.pem`).
 */
async function valueFrom(value: string | undefined): Promise<string> {
  if (value !== undefined) return value;
  if (process.stdin.isTTY) return readSecret('value: ');
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.replace(/\r?\n$/, '');
}

export async function setSecret(api: ApiClient, name: string, value: string | undefined, out: Out): Promise<void> {
  const v = await valueFrom(value);
  if (v === '') throw new CliError('the value is empty: pass --value or write it to standard input');
  const s = await api.request<SecretView>('PUT', `/api/v1/secrets/${encodeURIComponent(name)}`, { value: v });
  out(`secret ${s.name} stored (key ${s.keyId}); tasks refer to it as {{ secrets.${s.name} }}`);
}

export async function deleteSecret(api: ApiClient, name: string, out: Out): Promise<void> {
  await api.request('DELETE', `/api/v1/secrets/${encodeURIComponent(name)}`);
  out(`secret ${name} deleted`);
}

export async function rotateSecretsKey(api: ApiClient, out: Out): Promise<number> {
  const r = await api.request<{ keyId: string; rotated: number; channels: number; unreadable: string[] }>(
    'POST',
    '/api/v1/secrets/rotate-key',
    {},
  );
  out(`${r.rotated} secret(s) and ${r.channels} alert channel secret(s) sealed again under key ${r.keyId}`);
  for (const u of r.unreadable) out(`not opened by any configured key, left as is: ${u}`);
  return r.unreadable.length > 0 ? 1 : 0;
}
