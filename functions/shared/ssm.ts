/**
 * Reading SecureString parameters from SSM, shared by the Lambda functions. Its own module, so a function
 * importing it pulls in nothing else of another function's code.
 */

/** Reads one SecureString parameter, decrypted. */
export type ParameterReader = (name: string) => Promise<string | undefined>;

/**
 * The SSM reader Lambda uses. The SDK (provided by the runtime, left out of the bundles) is loaded on the
 * first read only, so a function that needs no secret never pays for loading it at cold start.
 */
export function ssmParameterReader(region: string): ParameterReader {
  let client: Promise<{ read: ParameterReader }> | undefined;
  return async (name) => {
    client ??= import("@aws-sdk/client-ssm").then(({ SSMClient, GetParameterCommand }) => {
      const ssm = new SSMClient({ region });
      return { read: async (n: string) => (await ssm.send(new GetParameterCommand({ Name: n, WithDecryption: true }))).Parameter?.Value };
    });
    return (await client).read(name);
  };
}
