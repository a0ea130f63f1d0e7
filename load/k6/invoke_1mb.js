// function_name route, Invoke RequestResponse with 1 MiB request bodies (BODY_BYTES to change;
// Lambda's synchronous limit is 6 MB): body buffering, hashing and signing of large payloads.
// The default rate is a fifth of the profile's (1 MiB x RATE per second each way).
//   k6 run -e PROFILE=smoke load/k6/invoke_1mb.js
import http from 'k6/http';
import { check } from 'k6';
import { options as makeOptions, url, jsonOfSize, num, JSON_HEADERS, EMULATOR_CHECKS } from './lib.js';

export const options = makeOptions({ p99Ms: 3000, rateScale: 0.2 });

const target = url('/lambda/echo');
const body = jsonOfSize(num('BODY_BYTES', 1024 * 1024));

export default function () {
  const res = http.post(target, body, {
    headers: JSON_HEADERS,
    tags: { route: 'invoke_1mb' },
    timeout: '60s',
  });
  check(res, {
    'status 200': (r) => r.status === 200,
    'payload echoed': (r) => !EMULATOR_CHECKS || (r.body !== null && r.body.length === body.length),
  });
}
