/**
 * A minimal reader of server-sent events over fetch (the WHATWG format: `event:`, `data:` and
 * `id:` lines, a blank line ends an event, lines starting with ":" are comments). Node has no
 * EventSource before 22, and this one sends the bearer token, which EventSource cannot.
 */
export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

/** Reads events from `body` until it ends or the signal aborts; each complete event goes to `onEvent`. */
export async function readEvents(body: ReadableStream<Uint8Array>, onEvent: (e: ServerSentEvent) => void): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = '';
  let event = 'message';
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (data.length) onEvent({ event, data: data.join('\n'), ...(id === undefined ? {} : { id }) });
        event = 'message';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      else if (field === 'id') id = value;
    }
  }
}
