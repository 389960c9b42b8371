/** Graceful shutdown: on SIGTERM/SIGINT run `close` once, then exit. Returns an unregister function. */
export function onShutdown(close: () => Promise<void>): () => void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  return () => {
    process.off('SIGTERM', handler);
    process.off('SIGINT', handler);
  };
}
