import { type LookupAddress, lookup as dnsLookup } from 'node:dns';
import { BlockList, type LookupFunction, isIP } from 'node:net';

/**
 * Where webhook and Slack channels may send: public addresses only, unless
 * BATON_ALERTS_ALLOW_PRIVATE_URLS is on (the embedded default's development
 * mode). A channel URL that names a refused address literally is a 400 at
 * `PUT`; a host name is checked when a delivery connects, on the addresses DNS
 * gave (the same ones the socket then uses, so a name that changes after the
 * check cannot slip through).
 */
const REFUSED = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], // "this" network
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // shared (carrier-grade NAT)
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  REFUSED.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  REFUSED.addSubnet(net, bits, 'ipv6');

/** The IPv4 address inside an IPv4-mapped or -compatible IPv6 address (`::ffff:7f00:1`, `::ffff:127.0.0.1`). */
function embeddedIpv4(ip: string): string | null {
  const dotted = /^::(?:ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (dotted) return dotted[1]!;
  const hex = /^::(?:ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip);
  if (!hex) return null;
  const [hi, lo] = [parseInt(hex[1]!, 16), parseInt(hex[2]!, 16)];
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Whether `ip` (an IPv4 or IPv6 address) is loopback, link-local, private or otherwise not public. */
export function isPrivateAddress(ip: string): boolean {
  const family = isIP(ip);
  if (family === 4) return REFUSED.check(ip, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIpv4(ip);
    return v4 !== null ? REFUSED.check(v4, 'ipv4') : REFUSED.check(ip, 'ipv6');
  }
  return false;
}

/** A URL's host as an address when it is one (`[::1]` without brackets), else null. */
export function literalAddress(url: URL): string | null {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) ? host : null;
}

const HOW_TO_ALLOW = 'set BATON_ALERTS_ALLOW_PRIVATE_URLS=true on the insight service to allow it';

/** Why a channel URL is refused at `PUT` (a private address written literally), or null. */
export function channelUrlRefusal(url: string, allowPrivate: boolean): string | null {
  if (allowPrivate) return null;
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return null; // the schema has already said it is not a URL
  }
  const ip = literalAddress(u);
  if (ip !== null && isPrivateAddress(ip)) {
    return `must not point at a loopback, link-local or private address (${ip}): ${HOW_TO_ALLOW}`;
  }
  if (/^localhost\.?$|\.localhost\.?$/i.test(u.hostname)) {
    return `must not point at a loopback address (${u.hostname}): ${HOW_TO_ALLOW}`;
  }
  return null;
}

/** A delivery refused because its host is or resolves to a private address (not retried). */
export class RefusedAddressError extends Error {
  constructor(host: string, ip: string) {
    super(
      `refused: ${host === ip ? ip : `${host} resolves to ${ip}, which`} is a loopback, link-local or private address (${HOW_TO_ALLOW})`,
    );
    this.name = 'RefusedAddressError';
  }
}

/**
 * A `lookup` for `http.request` that refuses a host when any address DNS
 * gives for it is private (and hands the socket the addresses it checked).
 */
export const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    if (err) return callback(err, '', 0);
    const bad = addresses.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new RefusedAddressError(hostname, bad.address), '', 0);
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0];
    if (!first) return callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
    return callback(null, first.address, first.family);
  });
};
