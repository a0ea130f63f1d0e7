// function_name route, Invoke RequestResponse with a raw event: the gateway signs and calls the
// Lambda Invoke API with the client body (1 KB JSON by default, BODY_BYTES to change). Against
// the demo the `echo` function returns the payload, which EMULATOR_CHECKS verifies.
//   k6 run -e PROFILE=smoke load/k6/invoke_small.js
import http from 'k6/http';
import { check } from 'k6';
import { options as makeOptions, url, jsonOfSize, num, JSON_HEADERS, EMULATOR_CHECKS } from './lib.js';

export const options = makeOptions({ p99Ms: 500 });

const target = url('/lambda/echo');
const body = jsonOfSize(num('BODY_BYTES', 1024));

export default function () {
  const res = http.post(target, body, { headers: JSON_HEADERS, tags: { route: 'invoke_small' } });
  check(res, {
    'status 200': (r) => r.status === 200,
    'payload echoed': (r) => !EMULATOR_CHECKS || r.body === body,
  });
}
