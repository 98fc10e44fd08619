/**
 * A small reader for protobuf text format, enough for the CEL conformance suite's
 * `tests/simple/testdata/*.textproto` files (bench/cel-conformance.ts). It keeps every field as a
 * list (text format repeats a field to make a list) and strings as raw bytes, since the suite's
 * `bytes_value` strings hold octal and hex escapes that are bytes, not characters.
 */

/** A scalar as written: a string (its decoded bytes) or a bare word/number. */
export type TextScalar = { kind: 'string'; bytes: Uint8Array } | { kind: 'word'; text: string };
/** A message: each field name (or `[type.url]` of an Any) to its values, in order. */
export type TextMessage = Map<string, TextValue[]>;
export type TextValue = TextScalar | TextMessage;

export function isMessage(v: TextValue | undefined): v is TextMessage {
  return v instanceof Map;
}

/** Parses a whole text-format document. @throws Error with the offset of the first thing it cannot read. */
export function parseTextproto(text: string): TextMessage {
  const p = new Parser(text);
  const msg = p.fields(undefined);
  return msg;
}

/** The first value of `field`, or undefined. */
export function first(msg: TextMessage, field: string): TextValue | undefined {
  return msg.get(field)?.[0];
}

/** A string field decoded as UTF-8. */
export function str(msg: TextMessage, field: string): string | undefined {
  const v = first(msg, field);
  return v && !isMessage(v) && v.kind === 'string' ? new TextDecoder().decode(v.bytes) : undefined;
}

class Parser {
  private i = 0;
  constructor(private readonly s: string) {}

  fields(close: string | undefined): TextMessage {
    const msg: TextMessage = new Map();
    for (;;) {
      this.skip();
      if (this.i >= this.s.length) {
        if (close) throw this.fail(`expected "${close}"`);
        return msg;
      }
      if (close && this.s[this.i] === close) {
        this.i++;
        return msg;
      }
      const name = this.name();
      this.skip();
      let colon = false;
      if (this.s[this.i] === ':') {
        colon = true;
        this.i++;
        this.skip();
      }
      const add = (v: TextValue) => msg.set(name, [...(msg.get(name) ?? []), v]);
      const c = this.s[this.i];
      if (c === '{' || c === '<') {
        this.i++;
        add(this.fields(c === '{' ? '}' : '>'));
      } else if (c === '[' && colon) {
        this.i++;
        for (;;) {
          this.skip();
          if (this.s[this.i] === ']') {
            this.i++;
            break;
          }
          add(this.value());
          this.skip();
          if (this.s[this.i] === ',') this.i++;
        }
      } else add(this.scalar());
      this.skip();
      if (this.s[this.i] === ',' || this.s[this.i] === ';') this.i++;
    }
  }

  private value(): TextValue {
    const c = this.s[this.i];
    if (c === '{' || c === '<') {
      this.i++;
      return this.fields(c === '{' ? '}' : '>');
    }
    return this.scalar();
  }

  private name(): string {
    if (this.s[this.i] === '[') {
      const end = this.s.indexOf(']', this.i);
      if (end < 0) throw this.fail('unclosed [');
      const n = this.s.slice(this.i, end + 1);
      this.i = end + 1;
      return n;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(this.s.slice(this.i, this.i + 200));
    if (!m) throw this.fail('expected a field name');
    this.i += m[0].length;
    return m[0];
  }

  private scalar(): TextScalar {
    const c = this.s[this.i];
    if (c === '"' || c === "'") {
      const parts: number[] = [];
      // Adjacent strings concatenate, as in C.
      while (this.s[this.i] === '"' || this.s[this.i] === "'") {
        parts.push(...this.quoted());
        this.skip();
      }
      return { kind: 'string', bytes: Uint8Array.from(parts) };
    }
    const m = /^[-+]?[A-Za-z0-9_.+-]+/.exec(this.s.slice(this.i, this.i + 200));
    if (!m) throw this.fail('expected a value');
    this.i += m[0].length;
    return { kind: 'word', text: m[0] };
  }

  private quoted(): number[] {
    const q = this.s[this.i++]!;
    const out: number[] = [];
    const utf8 = (cp: number) => out.push(...new TextEncoder().encode(String.fromCodePoint(cp)));
    for (;;) {
      if (this.i >= this.s.length) throw this.fail('unterminated string');
      const ch = this.s[this.i++]!;
      if (ch === q) return out;
      if (ch !== '\\') {
        utf8(ch.codePointAt(0)!);
        if (ch.codePointAt(0)! > 0xffff) this.i++;
        continue;
      }
      const e = this.s[this.i++]!;
      const simple: Record<string, number> = { n: 10, t: 9, r: 13, a: 7, b: 8, f: 12, v: 11, '\\': 92, "'": 39, '"': 34, '?': 63 };
      if (simple[e] !== undefined) out.push(simple[e]);
      else if (/[0-7]/.test(e)) {
        let digits = e;
        while (digits.length < 3 && /[0-7]/.test(this.s[this.i] ?? '')) digits += this.s[this.i++];
        out.push(parseInt(digits, 8) & 0xff);
      } else if (e === 'x' || e === 'X') {
        let digits = '';
        while (digits.length < 2 && /[0-9a-fA-F]/.test(this.s[this.i] ?? '')) digits += this.s[this.i++];
        out.push(parseInt(digits, 16));
      } else if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        utf8(parseInt(this.s.slice(this.i, this.i + n), 16));
        this.i += n;
      } else throw this.fail(`unknown escape \\${e}`);
    }
  }

  private skip(): void {
    for (;;) {
      const m = /^(\s+|#[^\n]*)/.exec(this.s.slice(this.i, this.i + 1000));
      if (!m) return;
      this.i += m[0].length;
    }
  }

  private fail(what: string): Error {
    const line = this.s.slice(0, this.i).split('\n').length;
    return new Error(`textproto line ${line}: ${what}`);
  }
}
