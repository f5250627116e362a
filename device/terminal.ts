/**
 * Showing the device code to a person: the verification URI and user code (RFC 8628 §3.3), a QR code of
 * `verification_uri_complete` for a phone (§3.3.1), and how long the code stays valid. On a terminal the
 * remaining time counts down on one line; into a pipe or a log it is printed once, plainly, with no
 * control characters.
 */
import QRCode from "qrcode";
import { type DeviceCode } from "./device-flow";

export interface CodeDisplay {
  /** Ends the countdown (clears its line on a terminal). */
  stop(): void;
}

export interface DisplayOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export function formatRemaining(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const minutes = Math.floor(total / 60);
  const seconds = total % 60;
  return `${minutes}:${String(seconds).padStart(2, "0")}`;
}

/**
 * The QR code of a URL as text, in half-height blocks. On a terminal, with colours that make it scannable
 * on a dark background too; elsewhere (a pipe, a CI log) plain characters with no escape codes.
 */
export function qrCodeText(url: string, tty: boolean): Promise<string> {
  return tty ? QRCode.toString(url, { type: "terminal", small: true }) : QRCode.toString(url, { type: "utf8" });
}

/**
 * Prints the code and starts the countdown. `now` and `setInterval` are ports for tests; the countdown
 * timer does not keep the process alive.
 */
export async function showDeviceCode(
  code: DeviceCode,
  out: DisplayOutput,
  options: { qr?: boolean; now?: () => number; tick?: (update: () => void) => { stop(): void } } = {},
): Promise<CodeDisplay> {
  const now = options.now ?? Date.now;
  const tty = out.isTTY === true;
  const lines: string[] = [];
  if (options.qr !== false && code.verificationUriComplete) {
    lines.push("Scan with a phone to sign in:", "", await qrCodeText(code.verificationUriComplete, tty));
  }
  lines.push(`Or open ${code.verificationUri}`, `and enter the code: ${code.userCode}`, "");
  out.write(`${lines.join("\n")}\n`);
  if (!tty) {
    const at = new Date(code.expiresAt).toISOString();
    out.write(`The code expires in ${formatRemaining(code.expiresAt - now())} (at ${at}). Waiting for approval...\n`);
    return { stop: () => undefined };
  }
  const render = () => {
    const remaining = code.expiresAt - now();
    out.write(
      `\r\x1b[2K${remaining > 0 ? `Waiting for approval... the code expires in ${formatRemaining(remaining)}` : "The code has expired."}`,
    );
  };
  render();
  const tick =
    options.tick ??
    ((update: () => void) => {
      const timer = setInterval(update, 1000);
      timer.unref();
      return { stop: () => clearInterval(timer) };
    });
  const timer = tick(render);
  let stopped = false;
  return {
    stop: () => {
      if (stopped) return;
      stopped = true;
      timer.stop();
      out.write("\r\x1b[2K");
    },
  };
}
