/**
 * Where the API listens besides loopback (ADR 0024): `--listen ADDR:PORT` on another address needs
 * TLS (`--tls-cert` and `--tls-key`, PEM files) or an explicit `--insecure`, which warns.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { SlipwayError } from '../core/errors.js';

export interface ListenOptions {
  listen?: string;
  tlsCert?: string;
  tlsKey?: string;
  insecure?: boolean;
}

export interface ExtraListener {
  host: string;
  port: number;
  tls?: { cert: Buffer; key: Buffer };
  /** Set when it serves plain HTTP beyond loopback: the warning to print. */
  warning?: string;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

/** The extra listener the options ask for (undefined: loopback only). Reads the PEM files, so a bad one fails before anything starts. */
export function extraListener(o: ListenOptions): ExtraListener | undefined {
  if (o.listen === undefined) {
    if (o.tlsCert || o.tlsKey || o.insecure)
      throw SlipwayError.of('LISTEN_TLS_INVALID', '--tls-cert, --tls-key and --insecure only apply with --listen', {
        hint: 'Add --listen ADDR:PORT (e.g. --listen 0.0.0.0:7443), or leave them out.',
      });
    return undefined;
  }
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(o.listen.trim());
  const host = m?.[1] ?? m?.[2];
  const port = Number(m?.[3]);
  if (!host || !(port >= 0 && port <= 65535) || (isIP(host) === 0 && host !== 'localhost'))
    throw SlipwayError.of('LISTEN_TLS_INVALID', `--listen ${o.listen} is not ADDR:PORT`, {
      hint: 'Give an IP address and a port: --listen 0.0.0.0:7443, --listen 10.0.0.5:7443 or --listen [::]:7443.',
    });
  if (Boolean(o.tlsCert) !== Boolean(o.tlsKey))
    throw SlipwayError.of('LISTEN_TLS_INVALID', `--tls-${o.tlsCert ? 'key' : 'cert'} is missing`, {
      hint: 'HTTPS needs both: --tls-cert cert.pem --tls-key key.pem.',
    });
  if (o.tlsCert && o.tlsKey) {
    const read = (flag: string, path: string, what: RegExp) => {
      let text: Buffer;
      try {
        text = readFileSync(path);
      } catch (err) {
        throw SlipwayError.of('LISTEN_TLS_INVALID', `${flag} ${path}: ${(err as Error).message}`, {
          hint: `Give the path of a PEM file to ${flag}.`,
        });
      }
      if (!what.test(text.toString('latin1')))
        throw SlipwayError.of('LISTEN_TLS_INVALID', `${flag} ${path} is not a PEM file`, {
          hint: 'Give PEM files (-----BEGIN CERTIFICATE----- and -----BEGIN … PRIVATE KEY-----).',
        });
      return text;
    };
    return {
      host,
      port,
      tls: {
        cert: read('--tls-cert', o.tlsCert, /-----BEGIN CERTIFICATE-----/),
        key: read('--tls-key', o.tlsKey, /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
      },
    };
  }
  if (isLoopback(host)) return { host, port };
  if (!o.insecure)
    throw SlipwayError.of('LISTEN_NEEDS_TLS', `--listen ${o.listen} is beyond loopback: tokens would cross the network in clear text`, {
      hint: 'Give --tls-cert cert.pem --tls-key key.pem, or --insecure on a network you trust.',
    });
  return {
    host,
    port,
    warning: `WARNING: the API listens on ${o.listen} over plain HTTP (--insecure): anyone on the network path can read its tokens`,
  };
}
