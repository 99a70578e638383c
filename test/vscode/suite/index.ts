import Mocha from 'mocha';
import { report } from './harness';

/**
 * Entry point VS Code loads from `extensionTestsPath`; it runs inside the extension host.
 * The suite is bundled into one CommonJS file, so test files are imported here rather than
 * discovered on disk; mocha's globals exist before they load thanks to `pre-require`.
 */
export async function run(): Promise<void> {
  // The suite is one bundle; map failures back to test/vscode/suite/*.ts.
  process.setSourceMapsEnabled(true);
  // Mocha's reporters print through Base.consoleLog. (Assigning console.log would do nothing:
  // the extension host's console forwarder defines it with a no-op setter.)
  const originalReporterLog = Mocha.reporters.Base.consoleLog;
  Mocha.reporters.Base.consoleLog = report;
  try {
    const mocha = new Mocha({ ui: 'bdd', color: false, timeout: 60_000, reporter: 'spec', grep: process.env.GATEHOUSE_VSCODE_GREP });
    mocha.suite.emit('pre-require', globalThis, 'gatehouse-vscode-suite', mocha);
    await import('./extension.test');
    await import('./approvals.test');
    // Before the panel suite, which switches demo__write_note to allow.
    await import('./notifications.test');
    await import('./consent.test');
    // Before the panel suite too: it needs demo__write_note held.
    await import('./panelWords.test');
    await import('./panel.test');
    await import('./mcpProvider.test');
    await import('./connect.test');
    await import('./skills.test');
    await import('./upstreamSignIn.test');
    const failures = await new Promise<number>((resolve) => mocha.run(resolve));
    if (failures > 0) throw new Error(`${failures} test${failures === 1 ? '' : 's'} failed`);
  } finally {
    Mocha.reporters.Base.consoleLog = originalReporterLog;
  }
}
