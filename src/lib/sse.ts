/**
 * A minimal server-sent events reader (WHATWG HTML, "Parsing an event stream"): fields `id`,
 * `event`, `data` (several data lines join with "\n"), comment lines start with ":", a blank
 * line dispatches. Enough for the seed's stream; `retry` is ignored (its readers do not reconnect).
 */
export interface SseMessage {
  id?: string;
  event: string;
  data: string;
}

export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseMessage> {
  const decoder = new TextDecoder();
  let buffer = '';
  let msg: { id?: string; event?: string; data: string[] } = { data: [] };
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    // a line ends at CRLF, LF or CR; keep a trailing partial line for the next chunk, and a
    // trailing CR too: its LF may open the next chunk, and CR LF is one line end, not two
    const cut = buffer.endsWith('\r') ? buffer.length - 1 : buffer.length;
    const lines = buffer.slice(0, cut).split(/\r\n|\n|\r/);
    buffer = (lines.pop() ?? '') + buffer.slice(cut);
    for (const line of lines) {
      if (line === '') {
        if (msg.data.length > 0) {
          yield {
            ...(msg.id !== undefined ? { id: msg.id } : {}),
            event: msg.event ?? 'message',
            data: msg.data.join('\n'),
          };
        }
        msg = { data: [] };
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') msg.data.push(value);
      else if (field === 'event') msg.event = value;
      else if (field === 'id') msg.id = value;
    }
  }
}
