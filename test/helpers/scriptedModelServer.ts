import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** A step of a model's script: the output of one turn, or a function of the request that computes it. */
export type Step<Request, Output> = Output | ((request: Request) => Output);

/**
 * What the scripted stand-ins for model APIs share (mockModel.ts for Codex, mockAnthropic.ts for
 * Claude Code): a loopback server, the requests the script answered, and the next step of it.
 */
export abstract class ScriptedModelServer<Request, Output> {
  readonly requests: Request[] = [];
  private readonly server = http.createServer((req, res) => void this.receive(req, res));
  private step = 0;

  constructor(
    private readonly script: readonly Step<Request, Output>[],
    /** What to answer once the script has run out. */
    private readonly fallback: Step<Request, Output>,
  ) {}

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return this.baseUrl;
  }

  abstract get baseUrl(): string;

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  protected get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Records a request the script answers and returns that turn's output. */
  protected nextOutput(request: Request): Output {
    this.requests.push(request);
    const step = this.script[this.step++] ?? this.fallback;
    return typeof step === 'function' ? (step as (request: Request) => Output)(request) : step;
  }

  protected abstract handle(req: http.IncomingMessage, body: string, res: http.ServerResponse): void;

  private async receive(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.handle(req, Buffer.concat(chunks).toString('utf8'), res);
  }
}
