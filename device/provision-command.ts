/**
 * `npm run device -- provision <thing name>`: fleet provisioning by trusted user from one terminal, the
 * installer's part and the device's part in turn (docs/fleet-provisioning.md#the-flow):
 *
 * 1. as the installer: an access token, given (`--installer-token`) or from the installer app's device flow
 *    (the code and QR code shown, tokens kept in the installer's own token file, refreshed next time);
 * 2. a claim for the thing from the claim route;
 * 3. as the device: the exchange over MQTT with TLS and the claim certificate (`--csr`: the device makes its own
 *    key and sends a CSR), then `RegisterThing`;
 * 4. the certificate and key saved (owner-only) in the thing's directory;
 * 5. a connection with the device's own certificate, its client id the thing name, and one message published
 *    on its own topic tree (the template's `topicRoot`), proving the device policy lets it.
 *
 * Prints what happened at each step; nothing secret (no key, no token) is printed.
 */
import { readFileSync } from "node:fs";
import { allowOnly, expectPositionals, type ParsedArgs, settingsFlags, UsageError } from "./cli-args";
import { type CliIo, type Command } from "./cli-commands";
import { DeviceClient } from "./client";
import { resolveSettings } from "./config";
import { NotLoggedInError } from "./errors";
import { connectWithCertificate, exchangeClaim, ProvisioningError, requestClaim, type TlsEndpoint } from "./provision";
import { resolveProvisionSettings, type ProvisionSettings } from "./provision-config";
import { PROVISION_BOOLEAN_FLAGS, PROVISION_VALUE_FLAGS } from "./provision-flags";
import { keyAndCsr } from "./provision-csr";
import { type CodeDisplay, showDeviceCode } from "./terminal";
import { defaultThingDirectory, saveThing } from "./thing-files";

/** The installer's access token: stored (refreshed when needed), or from signing in with the installer app. */
async function installerToken(args: ParsedArgs, io: CliIo, settings: ProvisionSettings): Promise<string> {
  if (settings.installerToken !== undefined) return settings.installerToken;
  const flags = { ...settingsFlags(args), clientId: settings.installerClientId, tokenFile: settings.installerTokenFile };
  // The installer signs nothing for IoT: a stack output's hidden token-signing key is not needed here.
  const { options } = resolveSettings(flags, io.env, io.cwd, ["deviceAuthorizationEndpoint", "tokenEndpoint", "clientId"], {
    unsigned: true,
  });
  const installer = new DeviceClient({ ...options, ...io.client });
  try {
    return await installer.token();
  } catch (err) {
    if (!(err instanceof NotLoggedInError)) throw err;
  }
  io.stdout.write("Sign in as the installer (the installers' app):\n");
  let display: CodeDisplay | undefined;
  try {
    await installer.login({
      onCode: async (code) => {
        display = await showDeviceCode(code, io.stdout, { qr: !args.booleans.has("no-qr"), ...(io.client?.now && { now: io.client.now }) });
      },
      signal: io.signal,
    });
  } finally {
    display?.stop();
  }
  io.stdout.write(`Signed in as the installer; tokens saved to ${installer.tokenFile} (readable only by you).\n`);
  return installer.token();
}

function parameters(args: ParsedArgs, thingName: string): Record<string, string> {
  const raw = args.values.parameters;
  if (raw === undefined) return { ThingName: thingName };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new UsageError('--parameters must be a JSON object of strings, e.g. \'{"Model":"X1"}\'');
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new UsageError('--parameters must be a JSON object of strings, e.g. \'{"Model":"X1"}\'');
  }
  return { ThingName: thingName, ...(parsed as Record<string, string>) };
}

/** Connects with the device's own certificate (MQTT 5, so a refusal has a reason code) and publishes once. */
async function publishAsThing(
  endpoint: TlsEndpoint,
  credentials: { certificatePem: string; privateKey: string },
  thingName: string,
  topic: string,
  message: string,
) {
  const client = await connectWithCertificate(endpoint, credentials, thingName, 5);
  try {
    await client.publishAsync(topic, message, { qos: 1 }).catch((err: { code?: unknown; message?: string }) => {
      throw new ProvisioningError(
        `IoT refused the publish to ${topic}: ${err.code === 135 ? "not authorized (the device policy)" : String(err.message)}`,
      );
    });
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

export const provision: Command = async (args, io) => {
  const [thingName] = expectPositionals(args, ["thingName"]);
  allowOnly(args, [...PROVISION_VALUE_FLAGS, ...PROVISION_BOOLEAN_FLAGS, "no-qr"]);
  const templateParameters = parameters(args, thingName);
  const settings = resolveProvisionSettings(args.values, io.env, io.cwd);
  const endpoint: TlsEndpoint = {
    mqttsUrl: settings.mqttsUrl,
    ...(settings.caFile !== undefined && { caPem: readFileSync(settings.caFile, "utf8") }),
  };
  const token = await installerToken(args, io, settings);

  const claim = await requestClaim(settings.claimUrl, token, thingName, io.client?.fetch ?? fetch);
  io.stdout.write(`Claim for ${thingName}: certificate ${claim.certificateId.slice(0, 12)}…, valid until ${claim.expiresAt}.\n`);
  const own = args.booleans.has("csr") ? await keyAndCsr(thingName) : undefined;
  const provisioned = await exchangeClaim(endpoint, claim, {
    templateName: settings.templateName,
    thingName,
    parameters: templateParameters,
    ...(own && { csrPem: own.csrPem }),
  });
  const topicRoot = provisioned.deviceConfiguration.topicRoot;
  io.stdout.write(
    `Provisioned ${provisioned.thingName} through ${settings.mqttsUrl} (${own ? "CreateCertificateFromCsr" : "CreateKeysAndCertificate"}, RegisterThing): ` +
      `certificate ${provisioned.certificateId.slice(0, 12)}…${topicRoot ? `, topic root ${topicRoot}` : ""}.\n`,
  );

  const credentials = { certificatePem: provisioned.certificatePem, privateKey: provisioned.privateKey ?? (own?.privateKeyPem as string) };
  const directory = settings.thingDir ?? defaultThingDirectory(provisioned.thingName, io.env);
  await saveThing(
    directory,
    {
      thingName: provisioned.thingName,
      certificateId: provisioned.certificateId,
      mqttsUrl: settings.mqttsUrl,
      ...(settings.caFile !== undefined && { caFile: settings.caFile }),
      deviceConfiguration: provisioned.deviceConfiguration,
      provisionedAt: new Date().toISOString(),
    },
    credentials,
  );
  io.stdout.write(`Saved the certificate and key in ${directory} (readable only by you).\n`);

  const topic = args.values.topic ?? (topicRoot !== undefined ? `${topicRoot}/hello` : undefined);
  if (topic === undefined) throw new UsageError("the template gives no topicRoot: say where to publish with --topic");
  await publishAsThing(
    endpoint,
    credentials,
    provisioned.thingName,
    topic,
    args.values.message ?? JSON.stringify({ provisioned: provisioned.thingName }),
  );
  io.stdout.write(`Connected with its own certificate as ${provisioned.thingName} and published to ${topic}.\n`);
  return 0;
};
