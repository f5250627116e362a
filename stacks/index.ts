/** Entry point of the `iot-enterprise-auth` Pulumi program (`main: stacks/` in Pulumi.yaml): every output, flat. */
import { stackOutputs } from "./outputs";
import { defineStack } from "./program";

export = stackOutputs(defineStack());
