import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { jsonDepthExceeds, MAX_JSON_DEPTH } from '../src/http/hostile-input.ts';
import { call, testServer } from './fixtures.ts';

type Server = Awaited<ReturnType<typeof testServer>>;

const nested = (levels: number) => JSON.parse(`${'['.repeat(levels)}${']'.repeat(levels)}`) as unknown;

describe('hostile input: bodies nested too deep and headers too large get the API\'s error shape', () => {
  let s: Server;
  before(async () => { s = await testServer(); });
  after(() => s.cleanup());

  it('measures depth without recursing, and stops early', () => {
    assert.equal(jsonDepthExceeds(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH), false);
    assert.equal(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH), true);
    assert.equal(jsonDepthExceeds(nested(200_000), MAX_JSON_DEPTH), true);
    assert.equal(jsonDepthExceeds({ a: [1, { b: 'x' }], c: null }, 3), false);
    assert.equal(jsonDepthExceeds({ a: [1, { b: { c: {} } }] }, 3), true);
  });

  it('a change event nested 5,000 levels deep is 400 TOO_DEEP, not 500, and is recorded only as a rejected ingest', async () => {
    const before = (await call(s.url, 'GET', '/v1/events?limit=1000', { token: s.admin })).body.events.length as number;
    const text = `{"summary":"deep","source":"ci","custom_details":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`;
    const r = await call(s.url, 'POST', '/v1/ingest/change', { token: s.admin, body: text, type: 'application/json' });
    assert.equal(r.status, 400, JSON.stringify(r.body).slice(0, 300));
    assert.equal(r.body.error.code, 'TOO_DEEP');
    const events = (await call(s.url, 'GET', '/v1/events?limit=1000', { token: s.admin })).body.events as { type: string }[];
    assert.deepEqual(events.slice(before).map((e) => e.type), ['ingest.rejected']);
  });

  it('headers over 16 KiB are 431 with { error: { code, message } }', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const u = new URL(`${s.url}/v1/rollouts`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'GET', headers: { authorization: `Bearer ${'x'.repeat(20_000)}` } }, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => { text += d.toString(); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 431);
    const parsed = JSON.parse(body) as { error: { code: string; message: string } };
    assert.equal(parsed.error.code, 'HEADERS_TOO_LARGE');
    assert.match(parsed.error.message, /16 KiB/);
  });
});
