import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/** What one fake peer answers to every request. */
export interface PeerAnswer {
  readonly status?: number;
  readonly contentType?: string;
  readonly body: string;
}

/**
 * Casper peers on loopback addresses (127.0.0.2, ...), all on one port, served
 * by a separate python3 process (test/support/fake_peers.py), so they answer
 * while a test runs a script with spawnSync.
 */
export class FakePeers {
  /** Starts the peers; resolves once all listen. */
  static async start(peers: Record<string, PeerAnswer>): Promise<FakePeers> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'casper-peers-'));
    const answers = path.join(dir, 'answers.json');
    const log = path.join(dir, 'requests.log');
    fs.writeFileSync(answers, JSON.stringify({ port: 0, peers }));
    fs.writeFileSync(log, '');
    const child = spawn('python3', [path.join(__dirname, 'fake_peers.py'), answers, log], { stdio: ['ignore', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      child.once('exit', (code) => reject(new Error(`fake peers exited (${code}) before listening`)));
    });
    return new FakePeers(child, port, dir, log);
  }

  private constructor(private readonly child: ChildProcess, readonly port: number, private readonly dir: string, private readonly log: string) {}

  /** "host path" of every request so far. */
  requests(): string[] {
    return fs.readFileSync(this.log, 'utf8').split('\n').filter((l) => l !== '');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once('exit', resolve));
      this.child.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
