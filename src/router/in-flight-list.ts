/** The links an entry of an InFlightList carries itself, so that joining and leaving allocate nothing. */
export interface Listed {
  /** The list it is in, or null. */
  list: InFlightList<Listed> | null;
  listPrev: Listed | null;
  listNext: Listed | null;
}

/**
 * What is in flight on one backend, as an intrusive doubly linked list: `add` and `delete` allocate
 * nothing, and an entry that left keeps no link to any other.
 *
 * Why not a Set: with a Set here, every scavenge of the proxy worker at 50 client connections
 * copied about 1 MB of finished requests and promoted as much to the old generation (989 KB
 * survived and 913 KB promoted per scavenge, against 116 and 94 KB with the same traffic and no
 * Set: `--trace-gc-nvp`, docs/router.md "Latency and garbage collection"). Scavenge pauses grow
 * with what survives, and those pauses made most of the router's p99. The likely mechanism: the
 * long-lived Set's hash table sits in the old generation, and the scavenger treats its references
 * to young objects as roots until the table is rehashed, whether or not the entry is still wanted.
 */
export class InFlightList<T extends Listed> {
  private head: T | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Adds `x` (nothing if it is already in this list; it must not be in another). */
  add(x: T): void {
    if (x.list === this) return;
    x.list = this as InFlightList<Listed>;
    x.listPrev = null;
    x.listNext = this.head;
    if (this.head !== null) this.head.listPrev = x;
    this.head = x;
    this.count++;
  }

  /** Removes `x` (nothing if it is not in this list). */
  delete(x: T): void {
    if (x.list !== this) return;
    const prev = x.listPrev as T | null;
    const next = x.listNext as T | null;
    if (prev !== null) prev.listNext = next;
    else this.head = next;
    if (next !== null) next.listPrev = prev;
    x.list = null;
    x.listPrev = null;
    x.listNext = null;
    this.count--;
  }

  /** The entries now, newest first: a copy, so that the caller may remove entries while it walks it. */
  toArray(): T[] {
    const out: T[] = [];
    for (let x = this.head; x !== null; x = x.listNext as T | null) out.push(x);
    return out;
  }
}
