// One HTTP exchange with a deadline and a body limit, for the canary (GET /status) and the
// RPC probe (POST info_get_status). Node's http/https only: no I/O besides the request.
//
// Not exported from any index.ts that jsii sees: bundled into the canary script and the
// probe's handler, not part of the construct library's API.
import * as http from 'http';
import * as https from 'https';
import { StatusFetchResult } from './verdict';

/** The body is read up to this many bytes; a real status or info_get_status answer is a few KiB. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** The request to make. */
export interface HttpExchangeRequest {
  /** @default 'GET' */
  readonly method?: 'GET' | 'POST';
  /** Request headers (`Content-Length` is added for a body). */
  readonly headers?: Record<string, string>;
  /** Request body (UTF-8). */
  readonly body?: string;
}

/**
 * Make one request to `url`. Never rejects: transport problems come back as `error`
 * (the error code such as `ECONNREFUSED` when Node gives one, else its message;
 * `timeout after <ms> ms` when the whole exchange, body included, takes longer than
 * `timeoutMs`). The body is read up to `MAX_BODY_BYTES`; a longer one is cut and flagged
 * `truncated`. Each exchange uses a fresh connection, closed afterwards: nothing is left
 * open in the runtime, and no kept-alive connection that the other side closed meanwhile
 * (while a Lambda environment was frozen between runs) is reused.
 */
export function httpExchange(url: URL, timeoutMs: number, request: HttpExchangeRequest = {}): Promise<StatusFetchResult> {
  return new Promise((resolve) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    const timer = setTimeout(() => {
      settle({ error: `timeout after ${timeoutMs} ms` });
      req?.destroy();
    }, timeoutMs);
    const settle = (result: StatusFetchResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const client = url.protocol === 'https:' ? https : http;
    const headers = { ...request.headers };
    if (request.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(request.body));
    try {
      req = client.request(url, {
        method: request.method ?? 'GET',
        agent: false,
        headers,
      }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (settled) return;
          if (size + chunk.length > MAX_BODY_BYTES) {
            chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
            settle({ statusCode: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), truncated: true });
            req?.destroy();
            return;
          }
          chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => settle({ statusCode: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => settle({ error: describe(err) }));
        res.on('close', () => settle({ error: 'connection closed before the body was complete' }));
      });
    } catch (err) {
      settle({ error: describe(err as Error) });
      return;
    }
    req.on('error', (err) => settle({ error: describe(err) }));
    req.end(request.body);
  });
}

function describe(err: Error & { code?: unknown }): string {
  return typeof err.code === 'string' ? err.code : err.message;
}
