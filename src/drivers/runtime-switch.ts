/**
 * One RuntimeDriver over several: an instance spec with an `image` goes to the image driver
 * (podman), every other to the process driver. Stopping, listing and logs go to whichever knows
 * the instance. The controller sees one driver, so rollouts, health and routing stay unchanged.
 * The image driver is only asked to initialise when there is one: a machine without podman runs
 * process services as before, and an image service fails its start with podman's reason.
 */
import type { InstanceSpec, InstanceStatus, LogRecord, RuntimeDriver } from './driver.js';

export class RuntimeSwitch implements RuntimeDriver {
  constructor(
    private readonly processes: RuntimeDriver,
    private readonly images: RuntimeDriver,
    /** What runs the image driver's containers (a host agent's may be docker: ADR 0026). */
    private readonly imagesRuntime: 'podman' | 'docker' = 'podman',
  ) {}

  async init(): Promise<void> {
    await this.processes.init();
    await this.images.init();
  }

  start(spec: InstanceSpec): Promise<InstanceStatus> {
    return (spec.image ? this.images : this.processes).start(spec);
  }

  stop(id: string, opts: { timeoutMs: number }): Promise<void> {
    return this.owner(id).stop(id, opts);
  }

  list(): InstanceStatus[] {
    return [...this.processes.list(), ...this.images.list()];
  }

  /** `podman` (or `docker`) for an instance the image driver runs, `process` otherwise. */
  runtimeOf(id: string): 'process' | 'podman' | 'docker' {
    return this.images.list().some((s) => s.id === id) ? this.imagesRuntime : 'process';
  }

  logTail(id: string, lines: number): Promise<string[]> {
    return this.owner(id).logTail(id, lines);
  }

  readLogs(id: string, q: { lines: number; sinceMs?: number }): Promise<LogRecord[]> {
    return this.owner(id).readLogs(id, q);
  }

  logFiles(id: string): { stdout: string; stderr: string } | undefined {
    return this.processes.logFiles(id) ?? this.images.logFiles(id);
  }

  onChange(listener: (status: InstanceStatus) => void): void {
    this.processes.onChange(listener);
    this.images.onChange(listener);
  }

  async detach(): Promise<void> {
    await this.processes.detach();
    await this.images.detach();
  }

  /** The driver that runs `id`; the process driver for ids neither knows (stopped ones keep their logs there or in neither). */
  private owner(id: string): RuntimeDriver {
    return this.images.list().some((s) => s.id === id) ? this.images : this.processes;
  }
}
