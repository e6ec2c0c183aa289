/**
 * Who a client certificate says it is, as Node's TLS layer reports it: the subject's common name(s) and the
 * `subjectaltname` text (`DNS:a, IP Address:10.0.0.1, URI:spiffe://x`).
 */
export interface CertificateSubject {
  commonName: string | readonly string[] | undefined;
  subjectAltName: string | undefined;
}

/** The DNS names of a `subjectaltname` text; a value Node quoted (it held a comma or quote) is unquoted. */
export function dnsNamesOf(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const names: string[] = [];
  for (const m of subjectAltName.matchAll(/(?:^|, )DNS:("(?:[^"\\]|\\.)*"|[^,]*)/g)) {
    const raw = m[1]!;
    try {
      names.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
    } catch {
      // An unparsable quoted value names nothing.
    }
  }
  return names;
}

/**
 * The agent names a certificate proves: its DNS subject alternative names when it has any, otherwise its
 * subject common name (the order RFC 6125 gives for host names). Compared exactly, as agent names are.
 */
export function certificateAgentNames(c: CertificateSubject): string[] {
  const dns = dnsNamesOf(c.subjectAltName);
  if (dns.length > 0) return dns;
  if (c.commonName === undefined) return [];
  return typeof c.commonName === 'string' ? [c.commonName] : [...c.commonName];
}

/** Null when the certificate proves `agentName`; otherwise why not, for the refusal and the audit record. */
export function certificateMismatch(agentName: string, c: CertificateSubject): string | null {
  const names = certificateAgentNames(c);
  if (names.includes(agentName)) return null;
  if (names.length === 0) return 'the client certificate names no agent (no DNS subject alternative name, no CN)';
  const shown = names.slice(0, 5).map((n) => `"${n.slice(0, 100)}"`);
  return `the client certificate is issued to ${shown.join(', ')}${names.length > 5 ? ', ...' : ''}, not to "${agentName}"`;
}
