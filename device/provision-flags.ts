/**
 * The flags of `npm run device -- provision` besides the usual ones that say where the services are (config.ts):
 * the command line reader (cli-args.ts) accepts them, keeps them out of the other commands' settings, and
 * refuses them on other commands; provision-command.ts and provision-config.ts read them.
 */

/** Flags that take a value. */
export const PROVISION_VALUE_FLAGS = [
  "installer-token",
  "installer-client-id",
  "installer-client",
  "installer-token-file",
  "claim-url",
  "template-name",
  "mqtts-url",
  "ca-file",
  "thing-dir",
  "parameters",
  "topic",
  "message",
] as const;

/** Flags without a value. */
export const PROVISION_BOOLEAN_FLAGS = ["csr"] as const;
