// function_uri route signed with SigV4 by the gateway (APISIX's `authorization.iam`): a POST
// with a small JSON body, so the signature covers the payload hash. Default ROUTE matches
// conf/demo.yaml (execute-api over TLS to the emulator); /url/... is the Function URL flavour.
//   k6 run -e PROFILE=smoke load/k6/function_uri_iam.js
import http from 'k6/http';
import { check } from 'k6';
import { options as makeOptions, url, json, jsonOfSize, num, JSON_HEADERS, EMULATOR_CHECKS } from './lib.js';

export const options = makeOptions({ p99Ms: 500 });

const target = url('/iam/orders?id=7');
const body = jsonOfSize(num('BODY_BYTES', 256));

export default function () {
  const res = http.post(target, body, { headers: JSON_HEADERS, tags: { route: 'function_uri_iam' } });
  check(res, {
    'status 200': (r) => r.status === 200,
    'stage verified the signature': (r) => {
      if (!EMULATOR_CHECKS) return true;
      const v = json(r) || {};
      return v.auth === 'iam' && v.body_len === body.length;
    },
  });
}
