/** The runner's side of the load-generator processes: fork, request/reply over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Command, Reply } from './protocol.js';

export class Worker {
  readonly child: ChildProcess;
  readonly index: number;
  private nextId = 1;
  private pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private dead?: Error;

  constructor(script: string, index: number, execArgv: string[]) {
    this.index = index;
    this.child = fork(script, [], {
      serialization: 'advanced',
      execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, UV_THREADPOOL_SIZE: '4' },
    });
    this.child.on('message', (m: Reply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`load generator ${index}: ${m.error}`));
    });
    this.child.on('exit', (code, sig) => {
      this.dead = new Error(`load generator ${index} exited (code ${code}, signal ${sig})`);
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
    });
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  call<T>(c: Command): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, c });
    });
  }
}

export class WorkerPool {
  readonly workers: Worker[];

  constructor(n: number, distDir: string, execArgv: string[] = []) {
    const script = path.join(distDir, 'loadgen.js');
    this.workers = Array.from({ length: n }, (_, i) => new Worker(script, i, execArgv));
  }

  get size(): number {
    return this.workers.length;
  }

  get pids(): number[] {
    return this.workers.map((w) => w.pid);
  }

  async init(httpBase: string, wsBase: string): Promise<void> {
    await Promise.all(this.workers.map((w, i) => w.call({ cmd: 'init', httpBase, wsBase, worker: i })));
  }

  /** Same command to every worker. */
  all<T>(c: Command): Promise<T[]> {
    return Promise.all(this.workers.map((w) => w.call<T>(c)));
  }

  /** One command per worker, built from its index. */
  each<T>(make: (i: number) => Command): Promise<T[]> {
    return Promise.all(this.workers.map((w, i) => w.call<T>(make(i))));
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.workers.map(async (w) => {
        if (w.child.exitCode !== null) return;
        const exited = new Promise((r) => w.child.once('exit', r));
        try {
          await w.call({ cmd: 'exit' });
        } catch {
          /* already gone */
        }
        const t = setTimeout(() => w.child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }),
    );
  }
}
