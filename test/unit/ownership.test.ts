import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { ApprovalRequest } from '../../src/core/approvals/approvalQueue';
import { ApiKeyStore } from '../../src/core/auth/apiKeys';
import { Gatehouse } from '../../src/core/gatehouse';
import { GatewayOwnership } from '../../src/editor/gatewayOwnership';
import { FollowerChannel } from '../../src/editor/windowChannel';
import { FollowRefusedError } from '../../src/editor/windowProtocol';
import type { OwnershipRole } from '../../src/editor/gatewayOwnership';
import { connectClient, tempDir } from '../helpers/gatewayHarness';
import { freePort } from '../helpers/ports';

// Two VS Code windows cannot be driven here (code-server opens one extension host per browser
// tab, and the suite runs in one). The ownership logic has no `vscode` import, so each "window"
// below is one GatewayOwnership instance with a real Gatehouse, a real port and a real socket.


function nextRole(window: GatewayOwnership): Promise<OwnershipRole> {
  return new Promise((resolve) => window.once('role', resolve));
}

function nextRequest(channel: FollowerChannel): Promise<ApprovalRequest> {
  return new Promise((resolve) => channel.once('requested', resolve));
}

interface Held {
  status: string;
  request_id: string;
}

describe('one gateway per port and Gatehouse home across editor windows', function () {
  this.timeout(30_000);
  const home = tempDir('gatehouse-ownership-');
  const windowSecret = 'window-secret-from-secret-storage';
  const windows: GatewayOwnership[] = [];
  const clients: Client[] = [];
  let port: number;
  let key: string;

  const openWindow = (secret = windowSecret): GatewayOwnership => {
    const name = `window ${windows.length + 1}`;
    const window = new GatewayOwnership({
      home,
      port,
      secret: async () => secret,
      log: (line) => process.env.OWNERSHIP_DEBUG && console.log(`[${name}] ${line}`),
      startGatehouse: async () => {
        const gatehouse = new Gatehouse({ home, port });
        await gatehouse.start();
        return gatehouse;
      },
    });
    windows.push(window);
    if (process.env.OWNERSHIP_DEBUG) window.on('role', (role) => console.log(`[${name}] is now ${role.kind}`));
    return window;
  };

  const connect = async (): Promise<Client> => {
    const client = await connectClient(`http://127.0.0.1:${port}/mcp`, key, 'ownership-test');
    clients.push(client);
    return client;
  };

  const holdNote = async (client: Client, name: string): Promise<Held> => {
    const held = (await client.callTool({ name: 'demo__write_note', arguments: { name, content: `from ${name}` } })).structuredContent as unknown as Held;
    assert.equal(held.status, 'approval_required');
    return held;
  };

  before(async () => {
    port = await freePort();
    key = new ApiKeyStore(home).create('ownership-test');
  });

  after(async () => {
    for (const client of clients) await client.close().catch(() => undefined);
    for (const window of windows) await window.release();
    fs.rmSync(home, { recursive: true, force: true });
  });

  let first: GatewayOwnership;
  let second: GatewayOwnership;

  it('lets the first window own the gateway and makes the second one follow it', async () => {
    first = openWindow();
    second = openWindow();
    assert.equal((await first.claim()).kind, 'owner');
    const role = await second.claim();
    assert.equal(role.kind, 'follower');
    assert.equal(role.kind === 'follower' && role.channel.ownerPid, process.pid);
  });

  it('shows a held call in the follower and runs it when the follower approves', async () => {
    const follower = second.role!;
    assert.equal(follower.kind, 'follower');
    if (follower.kind !== 'follower') return;
    const client = await connect();
    const arriving = nextRequest(follower.channel);
    const held = await holdNote(client, 'from-follower.txt');
    const mirrored = await arriving;
    assert.equal(mirrored.id, held.request_id);
    assert.deepEqual(
      follower.channel.pending().map((request) => request.id),
      [held.request_id],
    );

    const decided = await follower.channel.decide(held.request_id, { kind: 'approve', scope: 'once', channel: 'editor' });
    assert.equal(decided.ok, true);
    const result = await client.callTool({ name: 'await_approval', arguments: { request_id: held.request_id } });
    assert.equal((result.structuredContent as { status: string }).status, 'approved');
    assert.equal(fs.readFileSync(path.join(home, 'demo', 'from-follower.txt'), 'utf8'), 'from from-follower.txt');
  });

  it('tells the follower when a request was decided in another channel, so a late click can say so', async () => {
    const follower = second.role!;
    const owner = first.role!;
    if (follower.kind !== 'follower' || owner.kind !== 'owner') assert.fail('roles changed');
    const held = await holdNote(await connect(), 'decided-in-browser.txt');
    const settled = new Promise<ApprovalRequest>((resolve) => follower.channel.once('settled', resolve));
    owner.gatehouse.decide(held.request_id, { kind: 'deny', channel: 'browser' });
    const seen = await settled;
    assert.equal(seen.status, 'denied');
    assert.equal(follower.channel.get(held.request_id)?.decision?.channel, 'browser');
    const late = await follower.channel.decide(held.request_id, { kind: 'approve', scope: 'once', channel: 'editor' });
    assert.deepEqual(late, { ok: false, message: 'This request was already denied.' });
  });

  it('gives a process without the window secret nothing: no requests, no decisions', async () => {
    const owner = first.role!;
    if (owner.kind !== 'owner') assert.fail('roles changed');
    const held = await holdNote(await connect(), 'agent-tries.txt');
    await assert.rejects(FollowerChannel.connect(second.socketPath, 'guessed-secret'), FollowRefusedError);

    // Skipping the hello and sending a decision straight away gets the connection closed.
    const raw = net.createConnection(second.socketPath);
    const received: string[] = [];
    raw.setEncoding('utf8').on('data', (chunk: string) => received.push(chunk));
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(`${JSON.stringify({ type: 'decide', seq: 1, id: held.request_id, decision: { kind: 'approve', scope: 'tool' } })}\n`);
    await new Promise((resolve) => raw.once('close', resolve));
    assert.deepEqual(received, []);
    assert.equal(owner.gatehouse.approvals.get(held.request_id)?.status, 'pending');
    assert.equal(fs.statSync(second.socketPath).mode & 0o777, 0o600);
  });

  it('never sends the window secret to whatever listens on the socket, and does not follow an impostor', async () => {
    // An agent replaces the socket with its own listener and records what a follower says.
    const fake = path.join(tempDir(), 'impostor.sock');
    const heard: string[] = [];
    const impostor = net.createServer((socket) => {
      socket.setEncoding('utf8').on('data', (chunk: string) => {
        heard.push(chunk);
        // It answers like an owner would, but it cannot know the proof.
        socket.write(`${JSON.stringify({ type: 'challenge', nonce: 'n'.repeat(43), proof: '0'.repeat(64) })}\n`);
      });
    });
    await new Promise<void>((resolve) => impostor.listen(fake, resolve));
    try {
      await assert.rejects(FollowerChannel.connect(fake, windowSecret), FollowRefusedError);
      const said = heard.join('');
      assert.match(said, /"type":"hello"/, 'the follower did talk to it');
      for (const form of [windowSecret, Buffer.from(windowSecret).toString('base64'), Buffer.from(windowSecret).toString('hex')]) assert.ok(!said.includes(form), 'the secret never crosses the socket');
      assert.doesNotMatch(said, /"type":"auth"/, 'no proof is given to an owner that could not prove itself first');
    } finally {
      impostor.close();
    }
  });

  it('closes a follower connection whose decision is not signed with the session key', async () => {
    const owner = first.role!;
    if (owner.kind !== 'owner') assert.fail('roles changed');
    const held = await holdNote(await connect(), 'unsigned.txt');
    const channel = await FollowerChannel.connect(second.socketPath, windowSecret);
    // Reach the authenticated socket underneath and send what a relay in the middle would inject.
    const socket = (channel as unknown as { socket: net.Socket }).socket;
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.write(`${JSON.stringify({ type: 'decide', seq: 99, id: held.request_id, decision: { kind: 'approve', scope: 'once' }, mac: 'f'.repeat(64) })}\n`);
    await closed;
    assert.equal(owner.gatehouse.approvals.get(held.request_id)?.status, 'pending');
  });

  it('tells a window that does not share the secret storage that it cannot join, and starts no second gateway', async () => {
    const stranger = openWindow('a-secret-from-another-storage');
    const role = await stranger.claim();
    assert.equal(role.kind, 'failed');
    assert.ok(role.kind === 'failed' && role.error instanceof FollowRefusedError);
    assert.match(String((role as { error: Error }).error.message), /cannot join it/);
    assert.equal(first.role?.kind, 'owner', 'the owner keeps the gateway');
  });

  it('records a follower decision as the editor, whatever channel it claims', async () => {
    const follower = second.role!;
    const owner = first.role!;
    if (follower.kind !== 'follower' || owner.kind !== 'owner') assert.fail('roles changed');
    const held = await holdNote(await connect(), 'claims-browser.txt');
    await follower.channel.decide(held.request_id, { kind: 'deny', reason: 'not now', channel: 'browser' });
    assert.equal(owner.gatehouse.approvals.get(held.request_id)?.decision?.channel, 'editor');
    assert.equal(owner.gatehouse.approvals.get(held.request_id)?.decision?.reason, 'not now');
  });

  it('hands the gateway to the follower when the owner goes away, keeping pending requests', async () => {
    const client = await connect();
    const held = await holdNote(client, 'across-handover.txt');
    const third = openWindow();
    assert.equal((await third.claim()).kind, 'follower');

    const oldRoles = new Set([second.role, third.role]);
    const taken = Promise.race([nextRole(second), nextRole(third)]);
    const started = performance.now();
    await first.release();
    const role = await taken;
    const handoverMs = performance.now() - started;
    console.log(`      handover took ${handoverMs.toFixed(0)} ms`);
    assert.equal(role.kind, 'owner');
    const newOwner = second.role?.kind === 'owner' ? second : third;
    const stillFollowing = newOwner === second ? third : second;
    if (role.kind !== 'owner') return;

    // The request held under the old owner survived in pending.json and is decided at the new one.
    assert.equal(role.gatehouse.approvals.get(held.request_id)?.status, 'pending');
    // The window that lost the race follows the new owner.
    const followerRole = stillFollowing.role && !oldRoles.has(stillFollowing.role) ? stillFollowing.role : await nextRole(stillFollowing);
    assert.equal(followerRole.kind, 'follower');
    if (followerRole.kind !== 'follower') return;
    assert.ok(followerRole.channel.get(held.request_id), 'the follower sees the carried-over request');
    const decided = await followerRole.channel.decide(held.request_id, { kind: "approve", scope: "once", channel: "editor" });
    assert.equal(decided.ok, true, JSON.stringify(decided));

    // The agent's session died with the old owner; a new one gets the answer with the same id.
    const again = await connect();
    const result = await again.callTool({ name: 'await_approval', arguments: { request_id: held.request_id } });
    assert.equal((result.structuredContent as { status: string }).status, 'approved');
    assert.equal(fs.readFileSync(path.join(home, 'demo', 'across-handover.txt'), 'utf8'), 'from across-handover.txt');
  });
});
