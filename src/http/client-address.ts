import { isIP } from 'node:net';
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';

/**
 * The address of the client a request comes from, as rate limits and per-address quotas count it.
 *
 * With `trustedProxies` = 0 (the default) it is the TCP peer. Behind N reverse proxies the peer is
 * the nearest proxy: each proxy appends the address it received the request from to
 * `X-Forwarded-For`, so the client is the N-th address counted from the right of
 * [...forwarded, peer]. Anything further left was written by the client itself and is not trusted.
 * A header that is missing, too short or malformed falls back to the leftmost address the trusted
 * proxies vouch for, never to a client-chosen value. Only X-Forwarded-For is read: a `Forwarded`
 * header is passed through untouched by most proxies that append to X-Forwarded-For, so a client
 * could write any address into it.
 */
export function clientAddress(res: HttpResponse, req: HttpRequest, trustedProxies: number): string {
  const peer = normalize(Buffer.from(res.getRemoteAddressAsText()).toString());
  if (trustedProxies === 0) return peer;
  const chain = [...forwardedFor(req), peer];
  const index = Math.max(0, chain.length - 1 - trustedProxies);
  // the hops the trusted proxies added are addresses; a malformed one means a misconfigured proxy
  for (let i = index; i < chain.length; i++) if (chain[i]) return chain[i]!;
  return peer;
}

/**
 * Every address of X-Forwarded-For, oldest first, from every header line (uWS getHeader returns
 * only the first). A malformed element becomes '' so that it still counts as a hop.
 */
function forwardedFor(req: HttpRequest): string[] {
  const addresses: string[] = [];
  req.forEach((name, value) => {
    if (name === 'x-forwarded-for') for (const address of value.split(',')) addresses.push(normalize(address));
  });
  return addresses;
}

/**
 * "[::1]:1234", "1.2.3.4:5678", "0000:…:ffff:7f00:0001", "::ffff:1.2.3.4" → the canonical bare
 * address ("::1", "1.2.3.4", "127.0.0.1"); anything that is not an address → ''.
 */
export function normalize(raw: string): string {
  let address = raw.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) address = bracketed[1]!;
  else if (/^[\d.]+:\d+$/.test(address)) address = address.slice(0, address.lastIndexOf(':'));
  if (isIP(address) === 4) return address;
  if (isIP(address) !== 6) return '';
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1); // compressed, lower-case
  const mapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(canonical);
  if (!mapped) return canonical;
  const [high, low] = [parseInt(mapped[1]!, 16), parseInt(mapped[2]!, 16)];
  return [high >> 8, high & 255, low >> 8, low & 255].join('.');
}
