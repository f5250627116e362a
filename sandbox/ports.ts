/**
 * The sandbox's ports: the defaults `npm start` uses, the flag that moves each, and the checks that name a
 * port in use with that flag before anything starts (or, if one is taken in between, when listening fails).
 */
import net from "node:net";

/** The ports `npm start` uses unless told otherwise (0 = any free port). */
export const DEFAULT_PORTS = { deviceGrant: 8080, mqtt: 1883, mqtts: 8883, ws: 8083, http: 8081, idp: 8082 } as const;
export type SandboxPorts = { -readonly [K in keyof typeof DEFAULT_PORTS]: number };

/** What each port is for, and the `npm start` flag that changes it. */
export const PORT_FLAGS: Record<keyof SandboxPorts, { service: string; flag: string }> = {
  deviceGrant: { service: "device grant API", flag: "--device-grant-port" },
  mqtt: { service: "IoT gateway MQTT", flag: "--mqtt-port" },
  mqtts: { service: "IoT gateway MQTT over TLS with client certificates (fleet provisioning)", flag: "--mqtts-port" },
  ws: { service: "IoT gateway MQTT over WebSocket", flag: "--ws-port" },
  http: { service: "IoT gateway HTTP publish", flag: "--http-port" },
  idp: { service: "enterprise IdP (the stack's issuers)", flag: "--idp-port" },
};

export class PortInUseError extends Error {
  constructor(readonly ports: { port: number; host: string; service: string; flag: string; advice?: string }[]) {
    super(
      ports
        .map(
          ({ port, host, service, flag, advice }) =>
            `port ${port} on ${host} (${service}) is in use: stop what holds it, or ${advice ?? `choose another with ${flag} <port>`}`,
        )
        .concat("or move every port at once with --port-offset <n>")
        .join("\n"),
    );
    this.name = "PortInUseError";
  }
}

/** Whether `port` can be bound on `host` now (0 always can). */
async function portIsFree(host: string, port: number): Promise<boolean> {
  if (port === 0) return true;
  const probe = net.createServer();
  return new Promise((resolve, reject) => {
    probe.once("error", (err: NodeJS.ErrnoException) =>
      err.code === "EADDRINUSE" || err.code === "EACCES" ? resolve(false) : reject(err),
    );
    probe.listen(port, host, () => probe.close(() => resolve(true)));
  });
}

/** Turns a listen error of one of the sandbox's ports into a `PortInUseError`; other errors pass through. */
export function explainListenError(err: unknown, host: string, ports: SandboxPorts): unknown {
  const e = err as NodeJS.ErrnoException & { port?: number };
  if (e?.code !== "EADDRINUSE") return err;
  const key = (Object.keys(ports) as (keyof SandboxPorts)[]).find((k) => ports[k] === e.port);
  if (key) return new PortInUseError([{ port: ports[key], host, ...PORT_FLAGS[key] }]);
  // Taken between the probe and the listen, by a server that did not say which port.
  const flags = Object.values(PORT_FLAGS)
    .map((f) => f.flag)
    .join(", ");
  return Object.assign(new Error(`${e.message} (move a port with ${flags} or --port-offset)`), { code: e.code });
}

/**
 * Refuses, before anything starts, every port that is already taken (of those given: a service that does not
 * run needs no port), each with the flag that moves it; with a data directory, also the user directory's kept
 * port (its issuer names it, so it cannot move).
 */
export async function checkPortsFree(host: string, ports: Partial<SandboxPorts>, userDirectoryPort: number | undefined): Promise<void> {
  const busy: PortInUseError["ports"] = [];
  for (const key of Object.keys(ports) as (keyof SandboxPorts)[]) {
    const port = ports[key] as number;
    if (!(await portIsFree(host, port))) busy.push({ port, host, ...PORT_FLAGS[key] });
  }
  if (userDirectoryPort !== undefined && !(await portIsFree(host, userDirectoryPort))) {
    busy.push({
      port: userDirectoryPort,
      host,
      service: "user directory: its last start's port, which the issuer of its stored tokens names",
      flag: "--data-dir",
      advice: "start with another --data-dir",
    });
  }
  if (busy.length > 0) throw new PortInUseError(busy);
}
