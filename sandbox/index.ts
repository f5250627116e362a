/**
 * `npm start` (and `npm run sandbox`): the local sandbox from the command line (see sandbox.ts). Prints the
 * banner on stdout and the services' JSON log lines on stderr; Ctrl-C (or SIGTERM) stops everything, a second
 * one exits at once. Exits 1 with every problem listed when the settings are wrong, a port is taken or the
 * data directory is in use. `npm run sandbox -- approve <user code>` approves a device's code as the test
 * user (approve.ts).
 */
import { parseArgs } from "node:util";
import path from "node:path";
import { REPO_ROOT } from "./settings";
import { ConfigurationError } from "../functions/shared/problems";
import { DEFAULT_PORTS, PORT_FLAGS, PortInUseError, type SandboxOptions, type SandboxPorts, startSandbox } from "./sandbox";
import { approveMain } from "./approve";
import { DataDirectoryInUseError, SANDBOX_FILE } from "./sandbox-files";

const USAGE = `Usage: npm start -- [options]
       npm run sandbox -- [options]
       npm run sandbox -- approve <user code> [--idp enterprise] [--sandbox <sandbox.json>]

Starts the whole chain on loopback: DynamoDB (dynalite), the user directory (cognito-local), the device
grant API, the enterprise IdP standing in for the stack's issuers (the OpenAM walkthrough's: device flow,
HS256 tokens) and the IoT gateway with the real authorizer, which trusts every issuer of the stack. No AWS
account needed. "approve" approves the code a device shows as the sandbox's test user (with --idp
enterprise, as the enterprise IdP's test user), without a browser.

Options:
  --settings <file.json>     settings with the stack's keys (codeExpirySeconds, grants, …) instead of Pulumi.dev.yaml
  --stack-file <file.yaml>   read another stack file's iot-enterprise-auth:* settings
  --data-dir <dir>           keep everything here across starts: DynamoDB's data, the user directory (pool, app
                             client, test user), the enterprise IdP (its shared secret, keys, stored logins),
                             the signing key and sandbox.json (kept at stop). One sandbox
                             per directory. Default: DynamoDB and the user directory in memory, the key in
                             .sandbox/ and sandbox.json there while running (sandbox-<port>.json when the
                             device grant is not on its default port, so that two sandboxes never share one)
  --host <address>           address to listen on (default 127.0.0.1)
  --public-host <address>    an address of this machine a phone can open: listen there and put it in every
                             URL and the QR code (exposes the sandbox to that network; it says so)
${(Object.keys(PORT_FLAGS) as (keyof SandboxPorts)[]).map((k) => `  ${`${PORT_FLAGS[k].flag} <port>`.padEnd(27)}${PORT_FLAGS[k].service} (default ${DEFAULT_PORTS[k]})`).join("\n")}
  --port-offset <n>          add n to every default port (to run a second sandbox)
  --quiet                    print nothing but errors
  --help                     this text
`;

/** `.sandbox/` in the repository: the signing key (kept across starts) and sandbox.json (while running). */
export const DEFAULT_FILES_DIR = path.join(REPO_ROOT, ".sandbox");

function port(value: string | undefined, flag: string, problems: string[]): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65_535) {
    problems.push(`${flag} must be a port number from 0 to 65535; got ${JSON.stringify(value)}`);
    return undefined;
  }
  return n;
}

/** Reads the command line into sandbox options, or the problems with it. */
export function parseCommandLine(args: string[]): { options?: SandboxOptions; help?: boolean; problems: string[] } {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args,
      options: {
        settings: { type: "string" },
        "stack-file": { type: "string" },
        "data-dir": { type: "string" },
        host: { type: "string" },
        "public-host": { type: "string" },
        "device-grant-port": { type: "string" },
        "mqtt-port": { type: "string" },
        "mqtts-port": { type: "string" },
        "ws-port": { type: "string" },
        "http-port": { type: "string" },
        "idp-port": { type: "string" },
        "port-offset": { type: "string" },
        quiet: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    return { problems: [(err as Error).message] };
  }
  if (values.help) return { help: true, problems: [] };
  const problems: string[] = [];
  if (values.settings !== undefined && values["stack-file"] !== undefined)
    problems.push("--settings and --stack-file cannot be used together");
  if (values.host !== undefined && values["public-host"] !== undefined)
    problems.push("--host and --public-host cannot be used together (--public-host is where it listens too)");
  const offset = port(values["port-offset"] as string | undefined, "--port-offset", problems) ?? 0;
  const ports: SandboxPorts = { ...DEFAULT_PORTS };
  for (const key of Object.keys(PORT_FLAGS) as (keyof SandboxPorts)[]) {
    const flag = PORT_FLAGS[key].flag;
    const explicit = port(values[flag.slice(2)] as string | undefined, flag, problems);
    ports[key] = explicit ?? DEFAULT_PORTS[key] + offset;
    if (ports[key] > 65_535) problems.push(`--port-offset ${offset} moves the ${PORT_FLAGS[key].service} port past 65535`);
  }
  const options: SandboxOptions = {
    ports,
    ...(values.settings !== undefined && { settingsFile: values.settings as string }),
    ...(values["stack-file"] !== undefined && { stackFile: values["stack-file"] as string }),
    // Without a data directory, the files a device needs still go somewhere fixed, for `--sandbox .sandbox/sandbox.json`.
    ...(values["data-dir"] !== undefined ? { dataDir: values["data-dir"] as string } : { filesDir: DEFAULT_FILES_DIR }),
    ...(values.host !== undefined && { host: values.host as string }),
    ...(values["public-host"] !== undefined && { publicHost: values["public-host"] as string }),
    ...(values.quiet === true && { quiet: true }),
  };
  return { options, problems };
}

export async function main(args: string[]): Promise<number> {
  if (args[0] === "approve") return approveMain(args.slice(1), path.join(DEFAULT_FILES_DIR, SANDBOX_FILE));
  if (args[0] === "start") args = args.slice(1);
  const parsed = parseCommandLine(args);
  if (parsed.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (parsed.problems.length > 0 || !parsed.options) {
    console.error(parsed.problems.map((p) => `error: ${p}`).join("\n"));
    console.error("(npm start -- --help lists the options)");
    return 2;
  }
  let sandbox: Awaited<ReturnType<typeof startSandbox>>;
  try {
    sandbox = await startSandbox(parsed.options);
  } catch (err) {
    const known = err instanceof ConfigurationError || err instanceof PortInUseError || err instanceof DataDirectoryInUseError;
    if (known || (err as NodeJS.ErrnoException)?.code === "EADDRINUSE") {
      console.error(`The sandbox did not start.\n${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        console.error(`${signal} again: exiting without waiting`);
        process.exit(130);
      }
      stopping = true;
      if (!parsed.options?.quiet) console.error(`${signal}: stopping the sandbox…`);
      sandbox.stop().then(
        () => {
          process.off("SIGINT", onSignal);
          process.off("SIGTERM", onSignal);
          if (!parsed.options?.quiet) console.error("stopped");
          resolve(0);
        },
        (err: unknown) => {
          console.error(`stopping failed: ${(err as Error)?.message ?? String(err)}`);
          resolve(1);
        },
      );
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
