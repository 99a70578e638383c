import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { writeFileAtomic } from '../../src/core/store/files';
import { setToolDecision } from '../../src/core/approvals/policy';
import type { PolicyFileInput, PolicyTool } from '../../src/core/approvals/policy';
import { PolicyStore } from '../../src/core/approvals/policyStore';
import type { PolicyStoreEvents } from '../../src/core/approvals/policyStore';

const writeTool: PolicyTool = { server: 'filesystem', name: 'write_file' };
const deleteTool: PolicyTool = { server: 'filesystem', name: 'delete_file' };
const readTool: PolicyTool = { server: 'filesystem', name: 'read_file', annotations: { readOnlyHint: true } };

function nextEvent<K extends keyof PolicyStoreEvents>(store: PolicyStore, event: K): Promise<PolicyStoreEvents[K]> {
  return new Promise((resolve) => {
    const stop = store.on(event, (...args) => {
      stop();
      resolve(args);
    });
  });
}

/** An edit by something other than the human channel: an agent, a script, a text editor. */
function editExternally(file: string, policy: PolicyFileInput | string): void {
  writeFileAtomic(file, typeof policy === 'string' ? policy : JSON.stringify(policy, null, 2));
}

describe('PolicyStore', function () {
  this.timeout(10_000);
  let home: string;
  let store: PolicyStore;

  beforeEach(() => {
    home = fs.mkdtempSync(path.join(os.tmpdir(), 'gatehouse-policy-'));
    store = new PolicyStore(home);
  });

  afterEach(() => {
    store.dispose();
    fs.rmSync(home, { recursive: true, force: true });
  });

  it('uses the defaults when policy.json does not exist, without creating it', () => {
    store.load();
    assert.equal(store.evaluate(readTool, {}).decision, 'allow');
    assert.equal(store.evaluate(writeTool, {}).decision, 'ask');
    assert.equal(fs.existsSync(store.file), false);
  });

  it('writes human changes atomically with mode 0600 and applies them at once', () => {
    store.load();
    store.update((policy) => setToolDecision(policy, 'filesystem__write_file', 'allow'));
    assert.equal(store.evaluate(writeTool, {}).decision, 'allow');
    assert.equal(fs.statSync(store.file).mode & 0o777, 0o600);
    const onDisk = JSON.parse(fs.readFileSync(store.file, 'utf8')) as { rules: Array<{ tool: string; decision: string }> };
    assert.deepEqual(onDisk.rules.map((rule) => [rule.tool, rule.decision]), [['filesystem__write_file', 'allow']]);
    assert.equal(store.pendingChange(), undefined);
  });

  it('refuses a human change that does not fit the schema, leaving the file alone', () => {
    store.load();
    assert.throws(() => store.update((policy) => ({ ...policy, rules: [{ id: 'x', tool: '*', decision: 'sometimes' as 'allow' }] })));
    assert.equal(fs.existsSync(store.file), false);
  });

  it('applies a tightening external edit as soon as the file changes', async () => {
    store.load();
    const changed = nextEvent(store, 'changed');
    editExternally(store.file, { rules: [{ id: 'no-deletes', tool: '*__delete_*', decision: 'deny' }] });
    const [policy] = await changed;
    assert.equal(policy.rules[0].id, 'no-deletes');
    assert.equal(store.evaluate(deleteTool, {}).decision, 'deny');
    assert.equal(store.pendingChange(), undefined);
  });

  it('keeps the last good policy and leaves an invalid file untouched', async () => {
    editExternally(store.file, { rules: [{ id: 'no-deletes', tool: '*__delete_*', decision: 'deny' }] });
    store.load();
    const broken = '{ "rules": [ { "tool": "*", "decision": "allow" }, ';
    const failed = nextEvent(store, 'error');
    editExternally(store.file, broken);
    const [error] = await failed;
    assert.match(error.message, /policy\.json: not valid JSON/);
    assert.equal(store.error(), error);
    assert.equal(store.evaluate(deleteTool, {}).decision, 'deny');
    assert.equal(fs.readFileSync(store.file, 'utf8'), broken);

    const schemaFailed = nextEvent(store, 'error');
    editExternally(store.file, { rules: [{ tool: '*', when: { a: { regex: '(' } }, decision: 'allow' }] });
    const [schemaError] = await schemaFailed;
    assert.match(schemaError.message, /does not fit the expected format/);
    assert.equal(store.evaluate(deleteTool, {}).decision, 'deny');
  });

  it('refuses human changes while the file is broken, and recovers when it is fixed', async () => {
    const good = { rules: [{ id: 'no-deletes', tool: '*__delete_*', decision: 'deny' as const }] };
    editExternally(store.file, good);
    store.load();
    const failed = nextEvent(store, 'error');
    editExternally(store.file, '{');
    await failed;
    assert.throws(() => store.update((policy) => policy), /will not overwrite it/);
    assert.equal(fs.readFileSync(store.file, 'utf8'), '{');

    const recovered = nextEvent(store, 'changed');
    editExternally(store.file, good);
    await recovered;
    assert.equal(store.error(), undefined);
  });

  it('asks for everything when policy.json is broken at startup', () => {
    editExternally(store.file, 'not json');
    store.load();
    assert.ok(store.error());
    assert.equal(store.evaluate(readTool, {}).decision, 'ask');
    assert.equal(fs.readFileSync(store.file, 'utf8'), 'not json');
  });

  it('holds a loosening external edit until the human confirms it', async () => {
    store.load();
    const pending = nextEvent(store, 'pendingLoosening');
    editExternally(store.file, { rules: [{ id: 'yolo', tool: 'filesystem__*', decision: 'allow' }] });
    const [change] = await pending;
    assert.deepEqual(change.diffSummary, ['allow rule "yolo" for filesystem__* is new or widened']);
    assert.equal(store.pendingChange(), change);
    assert.equal(store.evaluate(writeTool, {}).decision, 'ask');
    assert.equal(store.current().rules.length, 0);

    store.confirmPending();
    assert.equal(store.evaluate(writeTool, {}).decision, 'allow');
    assert.equal(store.pendingChange(), undefined);
  });

  it('applies the tightening half of a mixed edit while the loosening half waits', async () => {
    store.load();
    const pending = nextEvent(store, 'pendingLoosening');
    editExternally(store.file, {
      rules: [
        { id: 'deny-deletes', tool: '*__delete_*', decision: 'deny' },
        { id: 'allow-writes', tool: 'filesystem__write_file', decision: 'allow' },
      ],
    });
    await pending;
    assert.equal(store.evaluate(deleteTool, {}).decision, 'deny');
    assert.equal(store.evaluate(writeTool, {}).decision, 'ask');
  });

  it('puts the effective policy back into the file when the human rejects a loosening edit', async () => {
    store.load();
    store.update((policy) => setToolDecision(policy, 'filesystem__delete_file', 'deny'));
    const written = fs.readFileSync(store.file, 'utf8');
    const pending = nextEvent(store, 'pendingLoosening');
    editExternally(store.file, {});
    const [change] = await pending;
    assert.match(change.diffSummary.join('\n'), /deny rule "rule-1" for filesystem__delete_file is removed/);
    assert.equal(store.evaluate(deleteTool, {}).decision, 'deny');

    store.rejectPending();
    assert.equal(store.pendingChange(), undefined);
    assert.equal(fs.readFileSync(store.file, 'utf8'), written);
    assert.equal(store.evaluate(deleteTool, {}).decision, 'deny');
  });

  it('holds a loosening edit made while Gatehouse was stopped until the human confirms it', () => {
    editExternally(store.file, { rules: [{ tool: 'filesystem__write_file', decision: 'deny' }] });
    store.load();
    store.dispose();
    editExternally(store.file, { rules: [{ tool: 'filesystem__write_file', decision: 'allow' }] });
    const restarted = new PolicyStore(home);
    restarted.load();
    try {
      assert.equal(restarted.evaluate(writeTool, {}).decision, 'deny', 'the last policy in force still applies');
      assert.ok(restarted.pendingChange(), 'the edit waits for confirmation');
      restarted.confirmPending();
      assert.equal(restarted.evaluate(writeTool, {}).decision, 'allow');
    } finally {
      restarted.dispose();
    }
  });

  it('applies a tightening edit made while Gatehouse was stopped at the next start', () => {
    store.load();
    store.dispose();
    editExternally(store.file, { rules: [{ tool: 'filesystem__read_file', decision: 'deny' }] });
    const restarted = new PolicyStore(home);
    restarted.load();
    try {
      assert.equal(restarted.pendingChange(), undefined);
      assert.equal(restarted.evaluate(readTool, {}).decision, 'deny');
    } finally {
      restarted.dispose();
    }
  });

  it('does not treat its own writes as external edits', async () => {
    store.load();
    store.update((policy) => setToolDecision(policy, 'filesystem__write_file', 'allow'));
    // The watcher sees the write above first; a later external tightening must still arrive as the next change.
    const changed = nextEvent(store, 'changed');
    const pending = nextEvent(store, 'pendingLoosening');
    let loosened = false;
    void pending.then(() => (loosened = true));
    const current = store.current();
    editExternally(store.file, { ...current, rules: [...current.rules, { id: 'd', tool: '*__delete_*', decision: 'deny' }] });
    await changed;
    assert.equal(loosened, false);
    assert.equal(store.evaluate(writeTool, {}).decision, 'allow');
    assert.equal(store.evaluate(deleteTool, {}).decision, 'deny');
  });
});
