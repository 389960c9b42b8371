/**
 * Graceful shutdown: on SIGTERM/SIGINT run `close` once, then exit: 0 after a clean close on
 * SIGTERM (the normal stop of a service, e.g. `docker stop`), 130 on SIGINT, 1 when `close` threw.
 * Returns an unregister function.
 */
export function onShutdown(close: () => Promise<void>): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    close().then(
      () => process.exit(signal === 'SIGINT' ? 130 : 0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
