// The AuthZEN metadata (/.well-known/authzen-configuration) names the PDP by --public-url when it is set,
// whatever Host header a client sends; without it, by the Host header.
import { request } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../server/config.js';
import { REPO_DIR } from '../support/policies.js';
import { startTestServer, type TestServer } from '../support/server.js';

const SEARCH_PACK = join(REPO_DIR, 'examples/authzen-search');

/** The metadata as a client sending `host` gets it. */
function metadata(server: TestServer, host: string): Promise<Record<string, string>> {
  const { port } = new URL(server.url);
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path: '/.well-known/authzen-configuration', headers: { host } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve(JSON.parse(text)));
    })
      .on('error', reject)
      .end();
  });
}

const endpoints = (base: string) => ({
  policy_decision_point: base,
  access_evaluation_endpoint: `${base}/access/v1/evaluation`,
  access_evaluations_endpoint: `${base}/access/v1/evaluations`,
  search_subject_endpoint: `${base}/access/v1/search/subject`,
  search_resource_endpoint: `${base}/access/v1/search/resource`,
  search_action_endpoint: `${base}/access/v1/search/action`,
});

describe('with --public-url', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: SEARCH_PACK, publicUrl: 'https://pdp.example.com/authz/' });
  });
  afterAll(() => server.stop());

  it('the metadata names the public URL, not the Host header', async () => {
    expect(await metadata(server, 'attacker.example:666')).toEqual(endpoints('https://pdp.example.com/authz'));
  });
});

describe('without it', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ policies: SEARCH_PACK });
  });
  afterAll(() => server.stop());

  it('the metadata names the Host header the request came with', async () => {
    expect(await metadata(server, 'pdp.internal:8181')).toEqual(endpoints('http://pdp.internal:8181'));
  });
});

describe('the setting', () => {
  it('comes from --public-url or FLEETGUARD_PUBLIC_URL, without its trailing slash', () => {
    expect(resolveConfig({}, { FLEETGUARD_PUBLIC_URL: 'https://pdp.example.com/' }).publicUrl).toBe(
      'https://pdp.example.com',
    );
    expect(resolveConfig({ publicUrl: 'http://10.0.0.5:8181' }, {}).publicUrl).toBe('http://10.0.0.5:8181');
    expect(resolveConfig({}, {}).publicUrl).toBeUndefined();
  });

  it.each(['pdp.example.com', 'ftp://pdp.example.com', 'https://pdp.example.com/?x=1', 'https://u:p@pdp.example.com'])(
    'refuses %s, naming the flag and the variable',
    (url) => {
      expect(() => resolveConfig({ publicUrl: url }, {})).toThrow(
        /--public-url.*FLEETGUARD_PUBLIC_URL.*http or https URL/,
      );
    },
  );
});
