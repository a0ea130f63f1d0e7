// function_name route with `response_streaming: true`: the gateway calls
// InvokeWithResponseStream and forwards each chunk as it arrives. k6 reads whole responses, so
// besides the total duration the time to first byte (http_req_waiting) is the figure to watch.
// Against the demo the `stream` function sends STREAM_CHUNKS chunks STREAM_DELAY_MS apart.
//   k6 run -e PROFILE=smoke load/k6/invoke_streaming.js
import http from 'k6/http';
import { check } from 'k6';
import { options as makeOptions, url, num, JSON_HEADERS, EMULATOR_CHECKS } from './lib.js';

const chunks = Math.round(num('STREAM_CHUNKS', 3));
const delayMs = Math.round(num('STREAM_DELAY_MS', 20));

export const options = makeOptions({
  p99Ms: 1000 + chunks * delayMs,
  extraThresholds: { http_req_waiting: [`p(99)<${num('TTFB_P99_MS', 500)}`] },
});

const target = url('/lambda/stream');
const body = __ENV.BODY || JSON.stringify({ chunks, delay_ms: delayMs });
const expected = Array.from({ length: chunks }, (_, i) => `chunk ${i}\n`).join('');

export default function () {
  const res = http.post(target, body, { headers: JSON_HEADERS, tags: { route: 'invoke_streaming' } });
  check(res, {
    'status 200': (r) => r.status === 200,
    'all chunks arrived': (r) => !EMULATOR_CHECKS || r.body === expected,
  });
}
