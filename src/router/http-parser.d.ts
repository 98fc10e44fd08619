/**
 * Types for Node's built-in llhttp binding, `HTTPParser` from the `_http_common` module. It is
 * what node:http itself parses with; the router drives it directly on pooled upstream sockets and
 * on client connections, to skip ClientRequest/IncomingMessage/ServerResponse per request.
 * Checked at start-up by `checkParsers()` in llhttp.ts, the only module that imports it.
 */
declare module '_http_common' {
  /** llhttp's method names, indexed by the number kOnHeadersComplete reports. */
  export const methods: string[];
  export class HTTPParser {
    static readonly REQUEST: number;
    static readonly RESPONSE: number;
    static readonly kOnMessageBegin: number;
    static readonly kOnHeaders: number;
    static readonly kOnHeadersComplete: number;
    static readonly kOnBody: number;
    static readonly kOnMessageComplete: number;
    static readonly kOnExecute: number;
    static readonly kLenientNone: number;
    initialize(type: number, resource: object, maxHeaderSize?: number, lenient?: number): void;
    execute(data: Buffer): number | Error;
    finish(): void | Error;
    close(): void;
    free(): void;
    remove(): void;
    [key: number]: unknown;
  }
}
