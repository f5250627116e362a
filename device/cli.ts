/**
 * `npm run device -- <command>`: the device client from a terminal, against the local sandbox or a deployed
 * stack. Exit codes: 0 success, 1 failure (refused, expired, unreachable, misconfigured), 2 usage error,
 * 130 interrupted. Only `token` prints a credential, and only to stdout, for `$(…)` use. This module turns
 * the outcome of a command (cli-commands.ts) into those exit codes; cli-args.ts reads the command line.
 */
import { parseArgs, type ParsedArgs, UsageError } from "./cli-args";
import { type CliIo, type Command, login, publish, subscribe, token } from "./cli-commands";
import { provision } from "./provision-command";
import { DeviceClientError } from "./client";
import { ConfigError } from "./config";

export { type CliIo } from "./cli-commands";

export const USAGE = `Usage: npm run device -- <command> [options]

Commands:
  login                              sign the device in (OAuth 2.0 device flow): shows a code and a QR code,
                                     waits for approval, stores the tokens in the token file (mode 0600)
  token [--refresh]                  print a current access token (refreshed when it expires within 60 s)
  publish <topic> <message>          publish one message ("-" reads the message from stdin)
        [--transport mqtt|wss|https] [--qos 0|1] [--retain]
  subscribe <topicFilter>            print "topic message" lines until Ctrl-C
        [--transport mqtt|wss] [--count N] [--qos 0|1]
  provision <thingName>              fleet provisioning by trusted user: as the installer (device flow with the
        [--csr] [--thing-dir DIR]    installer app, or --installer-token) get a claim; as the device exchange it
        [--topic T] [--message M]    over MQTT/TLS (--csr: keep the key on the device), save the certificate and
                                     key (mode 0600, default ~/.config/iot-enterprise-auth/things/<thingName>/),
                                     then publish with them (default <topicRoot>/hello)
  help                               this text

Where to connect (flags > DEVICE_* environment variables > --stack-output / --sandbox file):
  --stack-output FILE     JSON of \`pulumi stack output --json --show-secrets\`    DEVICE_STACK_OUTPUT
  --sandbox FILE          the sandbox's sandbox.json (printed by \`npm start\`)     DEVICE_SANDBOX
  --idp KEY               which of the sandbox's identity providers: enterprise (the stack's OpenAM
                          issuer, stood in for) or cognito (the device grant; the default)  DEVICE_IDP
  --issuer URL            an IdP's issuer: the device flow's endpoints from its metadata (OIDC
                          discovery); with --sandbox, the client of the sandbox's IdP of that issuer
                                                                                  DEVICE_ISSUER
  --base-url URL          device grant service (its /oauth2/device_authorization) DEVICE_BASE_URL
  --client-id ID          OAuth client id                                         DEVICE_CLIENT_ID
  --client KEY            a stack's device client, by key (deviceClientIds)       DEVICE_CLIENT
  --client-secret SECRET  confidential client's secret (prefer the variable)      DEVICE_CLIENT_SECRET
  --scope "A B"           scopes to ask for                                       DEVICE_SCOPE
  --iot-endpoint HOST|URL AWS IoT data endpoint (xxxx-ats.iot.REGION.amazonaws.com: MQTT/TLS with ALPN,
                          wss and https, all on 443) or one mqtt://, ws:// or http:// URL  DEVICE_IOT_ENDPOINT
  --mqtt-url URL  --ws-url URL  --http-url URL                  DEVICE_MQTT_URL DEVICE_WS_URL DEVICE_HTTP_URL
  --authorizer-name NAME  the IoT custom authorizer                               DEVICE_AUTHORIZER_NAME
  --token-key-name NAME   the authorizer's tokenKeyName (default: token)          DEVICE_TOKEN_KEY_NAME
  --signing-key FILE      PEM private key that signs the token for IoT            DEVICE_SIGNING_KEY
  --unsigned              send no token signature (authorizer with signing disabled)
  --token-file FILE       where tokens are kept (default ~/.config/iot-enterprise-auth/device-token.json;
                          with --idp/--issuer of a sandbox's enterprise IdP, device-token-enterprise.json)
                                                                                  DEVICE_TOKEN_FILE
  --mqtt-client-id ID     MQTT client id (default: <principal>-<random>)          DEVICE_MQTT_CLIENT_ID
  --principal-prefix P    the authorizer's principalPrefix for this IdP, so the default client id
                          matches the policy (the sandbox file gives it)          DEVICE_PRINCIPAL_PREFIX
  --mqtt-version 4|5      MQTT 3.1.1 (default) or 5
  --ws-credentials query|headers   where the WebSocket upgrade carries the token (default: query)
  --no-qr                 do not draw the QR code

Fleet provisioning (provision; the sandbox file or --stack-output gives all of these):
  --claim-url URL         the claim route (the stack's claimEndpoint)                 DEVICE_CLAIM_URL
  --template-name NAME    the provisioning template (provisioningTemplateName)        DEVICE_TEMPLATE_NAME
  --mqtts-url URL         MQTT over TLS with client certificates (default: the IoT endpoint's host, port 8883)
                                                                                      DEVICE_MQTTS_URL
  --ca-file FILE          a CA to trust besides the system's (the sandbox's iot-ca.pem) DEVICE_CA_FILE
  --installer-token T     the installer's access token (else: sign in with the installer app) DEVICE_INSTALLER_TOKEN
  --installer-client-id ID | --installer-client KEY   the installer app (a stack's deviceClientIds key; default installer)
  --installer-token-file FILE  the installer's tokens (default ~/.config/iot-enterprise-auth/installer-token.json)
  --parameters JSON       more template parameters than ThingName, e.g. '{"Model":"X1"}'

Examples (the topics are the dev stack's grants, which npm start uses; <principal> is in its banner):
  npm run device -- login --sandbox .sandbox/sandbox.json
  npm run device -- publish event/<principal>/hello "hi" --transport https --sandbox .sandbox/sandbox.json
  pulumi stack output --json --show-secrets > stack.json && npm run device -- login --stack-output stack.json
`;

/** Runs one command; resolves to the exit code. Never throws. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  let args: ParsedArgs;
  try {
    args = parseArgs(argv);
  } catch (err) {
    io.stderr.write(`error: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.booleans.has("help") || args.command === "help" || args.command === undefined) {
    (args.command === undefined && !args.booleans.has("help") ? io.stderr : io.stdout).write(USAGE);
    return args.command === undefined && !args.booleans.has("help") ? 2 : 0;
  }
  try {
    return await commandNamed(args.command)(args, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`error: ${err.message}\n(npm run device -- help for usage)\n`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.stderr.write(`error: the device client is not configured: ${err.message}\n(npm run device -- help for usage)\n`);
      return 1;
    }
    if (io.signal?.aborted && (err as Error).name === "AbortError") {
      io.stderr.write("\ninterrupted\n");
      return 130;
    }
    if (err instanceof DeviceClientError) {
      io.stderr.write(`error: ${err.message}\n`);
      return 1;
    }
    io.stderr.write(`error: ${(err as Error).message ?? String(err)}\n`);
    return 1;
  }
}

const COMMANDS = new Map<string, Command>([
  ["login", login],
  ["token", token],
  ["publish", publish],
  ["subscribe", subscribe],
  ["provision", provision],
]);

function commandNamed(name: ParsedArgs["command"]): Command {
  const command = name !== undefined ? COMMANDS.get(name) : undefined;
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(name)} (login, token, publish, subscribe, provision, help)`);
  return command;
}

async function readAllStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

if (require.main === module) {
  const controller = new AbortController();
  process.once("SIGINT", () => controller.abort());
  void runCli(process.argv.slice(2), {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    readStdin: readAllStdin,
    signal: controller.signal,
  }).then((code) => {
    process.exitCode = code;
    // An MQTT socket or a pending timer must not keep a finished command alive.
    setImmediate(() => process.exit(code)).unref();
  });
}
