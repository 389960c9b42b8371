/**
 * Bounded waiting, for shutdown steps and scrapes that must not hang on an unanswering Redis or a
 * long job.
 */

/**
 * Resolves true when `work` settles (fulfilled or rejected) within `ms`, false otherwise. `work`
 * keeps running either way; a rejection after the deadline is swallowed.
 */
export async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const settled = work.then(
    () => true,
    () => true,
  );
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([settled, late]);
  } finally {
    clearTimeout(timer);
  }
}
