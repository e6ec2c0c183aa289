import 'reflect-metadata'; // tsyringe, under @peculiar/x509, needs the Reflect API
import { randomBytes, webcrypto } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto; the parameter's DOM type is not in this project's libs.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate and its private key, as PEM text. */
export interface IssuedPem {
  cert: string;
  key: string;
}

/** A test certificate authority: issues server and client certificates, writes PEM files. */
export interface TestCa {
  /** The CA certificate (PEM): what the other side trusts. */
  cert: string;
  /** A server certificate for `names` (DNS) and `ips`; by default localhost and 127.0.0.1. */
  server(opts?: { names?: string[]; ips?: string[] }): Promise<IssuedPem>;
  /**
   * A client certificate with `cn` as subject common name and `dns` as DNS subject alternative names
   * (an agent's: `client('agent-1')` is CN=agent-1 without SANs).
   */
  client(cn: string, dns?: string[]): Promise<IssuedPem>;
}

const serial = () =>
  randomBytes(8)
    .toString('hex')
    .replace(/^[89a-f]/, '1');
const keyPem = async (key: webcrypto.CryptoKey) =>
  x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');

/** Makes a fresh CA (ECDSA P-256, valid from a minute ago for a day). */
export async function createTestCa(name = 'Baton Test CA'): Promise<TestCa> {
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(Date.now() + DAY);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const issue = async (
    cn: string,
    sans: { type: 'dns' | 'ip'; value: string }[],
    usage: x509.ExtendedKeyUsage,
  ): Promise<IssuedPem> => {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${cn}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      signingKey: caKeys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([usage]),
        await x509.AuthorityKeyIdentifierExtension.create(ca, false),
        ...(sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : []),
      ],
    });
    return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
  };
  return {
    cert: ca.toString('pem'),
    server: ({ names = ['localhost'], ips = ['127.0.0.1'] } = {}) =>
      issue(
        names[0] ?? 'baton-gateway',
        [
          ...names.map((value) => ({ type: 'dns' as const, value })),
          ...ips.map((value) => ({ type: 'ip' as const, value })),
        ],
        x509.ExtendedKeyUsage.serverAuth,
      ),
    client: (cn, dns = []) =>
      issue(
        cn,
        dns.map((value) => ({ type: 'dns' as const, value })),
        x509.ExtendedKeyUsage.clientAuth,
      ),
  };
}

/** Writes PEM texts as `<dir>/<name>` files (mode 0600); returns their paths by the same keys. */
export function writePemFiles<K extends string>(dir: string, files: Record<K, string>): Record<K, string> {
  mkdirSync(dir, { recursive: true });
  const paths = {} as Record<K, string>;
  for (const [name, pem] of Object.entries(files) as [K, string][]) {
    paths[name] = join(dir, name);
    writeFileSync(paths[name], pem, { mode: 0o600 });
  }
  return paths;
}
