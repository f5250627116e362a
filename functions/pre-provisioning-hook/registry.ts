/**
 * The thing registry on AWS IoT: `DescribeThing` answers whether a name is taken. `ResourceNotFoundException`
 * means free; any other failure is thrown, and the hook denies (it cannot tell, so it does not allow).
 */
import { DescribeThingCommand, type IoTClient } from "@aws-sdk/client-iot";
import { awsErrorName } from "../shared/aws-errors";
import { type ThingRegistry } from "./decide";

export function iotThingRegistry(client: IoTClient): ThingRegistry {
  return {
    async exists(thingName, signal) {
      try {
        await client.send(new DescribeThingCommand({ thingName }), { abortSignal: signal });
        return true;
      } catch (err) {
        if (awsErrorName(err) === "ResourceNotFoundException") return false;
        throw err;
      }
    },
  };
}
