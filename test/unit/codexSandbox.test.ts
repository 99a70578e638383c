import * as assert from 'node:assert/strict';
import { codexSandboxWarning } from '../../src/core/clients/codexSandbox';

describe('codexSandboxWarning: can the Codex sandbox write the Gatehouse home?', () => {
  it('warns when Codex runs without a sandbox', () => {
    assert.match(codexSandboxWarning('sandbox_mode = "danger-full-access"\n', '/home/ada/.gatehouse') ?? '', /without a sandbox.*\/home\/ada\/\.gatehouse/);
  });

  it('warns when a workspace-write root, or /tmp, holds the home', () => {
    const config = 'sandbox_mode = "workspace-write"\n[sandbox_workspace_write]\nwritable_roots = ["/home/ada"]\n';
    assert.match(codexSandboxWarning(config, '/home/ada/.gatehouse') ?? '', /lets commands write \/home\/ada,/);
    assert.match(codexSandboxWarning('sandbox_mode = "workspace-write"\n', '/tmp/gh-home') ?? '', /write \/tmp,/);
    assert.match(codexSandboxWarning('sandbox_mode = "workspace-write"\n', '/var/tmp/me/gh', '/var/tmp/me') ?? '', /write \/var\/tmp\/me,/);
    assert.equal(codexSandboxWarning('sandbox_mode = "workspace-write"\n[sandbox_workspace_write]\nexclude_tmpdir_env_var = true\n', '/var/tmp/me/gh', '/var/tmp/me'), undefined);
  });

  it('says nothing when the home is outside every writable root, or the sandbox is read-only or unset', () => {
    assert.equal(codexSandboxWarning('sandbox_mode = "workspace-write"\n[sandbox_workspace_write]\nexclude_slash_tmp = true\n', '/tmp/gh-home'), undefined);
    assert.equal(codexSandboxWarning('sandbox_mode = "workspace-write"\n[sandbox_workspace_write]\nwritable_roots = ["/home/ada/src"]\n', '/home/ada/.gatehouse'), undefined);
    assert.equal(codexSandboxWarning('sandbox_mode = "read-only"\n', '/tmp/x'), undefined);
    assert.equal(codexSandboxWarning(undefined, '/tmp/x'), undefined);
    assert.equal(codexSandboxWarning('not [valid toml', '/tmp/x'), undefined);
  });
});
