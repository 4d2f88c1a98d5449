/**
 * Works through batches from `claim` with `lanes` workers, claiming the next batch while the current one
 * is still being worked (once fewer than `lowWater` items wait), so no worker idles at a batch boundary.
 * Ends when `claim` returns nothing; a failed claim fails the whole run once the workers have stopped.
 */
export async function runPipeline<T>(claim: () => Promise<T[]>, lanes: number, lowWater: number, worker: (item: T) => Promise<void>): Promise<void> {
  const queue: T[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let pending: Promise<void> | null = null;
  const refill = (): Promise<void> =>
    (pending ??= claim()
      .then((items) => {
        if (items.length === 0) done = true;
        queue.push(...items);
      })
      .catch((error: unknown) => {
        failure = { error };
        done = true;
      })
      .finally(() => (pending = null)));
  await Promise.all(
    Array.from({ length: Math.max(1, lanes) }, async () => {
      for (;;) {
        if (!done && queue.length < lowWater) {
          const p = refill();
          if (queue.length === 0) await p;
        }
        const item = queue.shift();
        if (item !== undefined) await worker(item);
        else if (pending) await pending;
        else if (done) return;
      }
    }),
  );
  if (failure) throw failure.error;
}
