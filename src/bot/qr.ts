/**
 * QR codes for client configs, so a phone can import a tunnel by scanning instead of copying a
 * file. The config holds the client's private key: render it only into a direct message or the
 * requester's own terminal, and never log the result.
 */
import QRCode from 'qrcode';

/** A QR code in the two forms the adapters deliver. */
export interface RenderedQr {
  /** Half-block UTF-8 art (two modules per character row), for the shell adapter. */
  terminal: string;
  /** A PNG image, base64-encoded, for chat file uploads. */
  pngBase64: string;
}

/**
 * Error correction `M` (15 %) keeps a ~300-byte WireGuard config at a version a phone reads
 * reliably from a screen; higher levels only add modules that make the terminal art wider.
 */
const OPTIONS = { errorCorrectionLevel: 'M', margin: 2 } as const;

/** Renders `configText` (a `wg-quick` client config) as terminal art and a PNG. */
export async function renderQr(configText: string): Promise<RenderedQr> {
  const [terminal, png] = await Promise.all([
    QRCode.toString(configText, { ...OPTIONS, type: 'utf8' }),
    QRCode.toBuffer(configText, { ...OPTIONS, type: 'png', scale: 6 }),
  ]);
  return { terminal, pngBase64: png.toString('base64') };
}
