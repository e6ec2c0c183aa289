import { describe, expect, it } from 'vitest';
import {
  type CertificateSubject,
  certificateAgentNames,
  certificateMismatch,
  dnsNamesOf,
} from './agent-certificate.js';

describe('dnsNamesOf', () => {
  it.each<[string | undefined, string[]]>([
    [undefined, []],
    ['', []],
    ['DNS:agent-1', ['agent-1']],
    ['DNS:agent-1, DNS:agent-1.example.org', ['agent-1', 'agent-1.example.org']],
    ['IP Address:127.0.0.1, DNS:localhost, URI:spiffe://baton/agent/x', ['localhost']],
    ['URI:spiffe://baton/DNS:evil', []],
    ['DNS:"a,b", DNS:c', ['a,b', 'c']],
    ['email:DNS:x@example.org', []],
  ])('%j -> %j', (text, names) => expect(dnsNamesOf(text)).toEqual(names));
});

describe('certificateAgentNames and certificateMismatch', () => {
  const cert = (commonName: CertificateSubject['commonName'], subjectAltName?: string): CertificateSubject => ({
    commonName,
    subjectAltName,
  });
  it.each<[string, CertificateSubject, string, string[], RegExp | null]>([
    ['the CN when there is no SAN', cert('agent-1'), 'agent-1', ['agent-1'], null],
    ['a DNS SAN', cert(undefined, 'DNS:agent-1'), 'agent-1', ['agent-1'], null],
    ['one of several DNS SANs', cert('x', 'DNS:a, DNS:agent-1'), 'agent-1', ['a', 'agent-1'], null],
    [
      'the CN is ignored when DNS SANs exist',
      cert('agent-1', 'DNS:other'),
      'agent-1',
      ['other'],
      /issued to "other", not to "agent-1"/,
    ],
    ['an IP SAN only: the CN', cert('agent-1', 'IP Address:10.0.0.1'), 'agent-1', ['agent-1'], null],
    [
      'another name',
      cert('agent-2'),
      'agent-1',
      ['agent-2'],
      /^the client certificate is issued to "agent-2", not to "agent-1"$/,
    ],
    ['case matters', cert('Agent-1'), 'agent-1', ['Agent-1'], /not to "agent-1"/],
    ['several CNs', cert(['a', 'agent-1']), 'agent-1', ['a', 'agent-1'], null],
    ['nothing at all', cert(undefined), 'agent-1', [], /names no agent/],
    ['a URI SAN only', cert(undefined, 'URI:spiffe://baton/agent-1'), 'agent-1', [], /names no agent/],
  ])('%s', (_what, c, name, names, mismatch) => {
    expect(certificateAgentNames(c)).toEqual(names);
    const reason = certificateMismatch(name, c);
    if (mismatch === null) expect(reason).toBeNull();
    else expect(reason).toMatch(mismatch);
  });
});
