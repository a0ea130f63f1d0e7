// function_uri route with an API key added by the gateway (APISIX's `authorization.apikey`):
// GET through the gateway to an API Gateway stage. Default ROUTE matches conf/demo.yaml.
//   k6 run -e PROFILE=smoke load/k6/function_uri_apikey.js
import http from 'k6/http';
import { check } from 'k6';
import { options as makeOptions, url, json, EMULATOR_CHECKS } from './lib.js';

export const options = makeOptions({ p99Ms: 500 });

const target = url('/apikey/hello');

export default function () {
  const res = http.get(target, { tags: { route: 'function_uri_apikey' } });
  check(res, {
    'status 200': (r) => r.status === 200,
    'stage saw the API key': (r) => !EMULATOR_CHECKS || (json(r) || {}).auth === 'apikey',
  });
}
