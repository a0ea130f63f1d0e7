// function_name route with `awsgateway_compatible: true` and payload version "2.0": the gateway
// builds an API Gateway HTTP API (v2) event from the request (path, query, headers, cookies,
// body) and parses the function's proxy-integration result. Against the demo the `proxy`
// function answers 201 with the event as its body.
//   k6 run -e PROFILE=smoke load/k6/invoke_v2.js
import http from 'k6/http';
import { check } from 'k6';
import { options as makeOptions, url, json, jsonOfSize, num, JSON_HEADERS, ok2xx, EMULATOR_CHECKS } from './lib.js';

export const options = makeOptions({ p99Ms: 500 });

const target = url('/lambda/api/items/7?q=1&tag=a&tag=b');
const body = jsonOfSize(num('BODY_BYTES', 512));
const headers = Object.assign({ Cookie: 'session=k6; theme=dark' }, JSON_HEADERS);

export default function () {
  const res = http.post(target, body, { headers, tags: { route: 'invoke_v2' } });
  check(res, {
    'status 2xx': ok2xx,
    'function got a v2 event': (r) => {
      if (!EMULATOR_CHECKS) return true;
      const event = json(r) || {};
      return r.status === 201 && event.version === '2.0' && event.body === body
        && Array.isArray(event.cookies) && event.cookies.length === 2;
    },
  });
}
