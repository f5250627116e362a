/**
 * The AWS SDK for JavaScript v3 prints a `NodeVersionSupportWarning` on Node 20 (its releases after the first
 * week of January 2027 require Node 22), once per module registry: once for `npm start`, once per jest test
 * file that builds an SDK client (16 copies in `npm test`). The warning is real but not news to this
 * project: the Lambda functions already run on `nodejs22.x`, and moving the tools to Node 22 is planned
 * (README, Quick start). Repeating it in every test run teaches users to ignore warnings, so the sandbox and
 * the tests turn off exactly this one, with the SDK's own switch, and only on Node versions below 22: on 22
 * and later there is nothing to turn off, and any other warning still shows.
 */

/** The SDK's own switch for this warning (`@aws-sdk/core`, `emitWarningIfUnsupportedVersion`). */
export const SDK_NODE_WARNING_SWITCH = "AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED";

/** Turns the SDK's Node-version warning off on Node < 22, unless the user set the switch themselves. */
export function quietSdkNodeVersionWarning(nodeVersion: string = process.version): void {
  const major = Number(/^v(\d+)\./.exec(nodeVersion)?.[1]);
  if (major < 22 && process.env[SDK_NODE_WARNING_SWITCH] === undefined) process.env[SDK_NODE_WARNING_SWITCH] = "true";
}
