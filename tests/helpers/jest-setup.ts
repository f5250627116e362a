/**
 * Runs before every test file (jest.config.js `setupFiles`): only the targeted, documented suppression of the
 * AWS SDK's Node 20 support warning (sandbox/sdk-node-warning.ts).
 */
import { quietSdkNodeVersionWarning } from "../../sandbox/sdk-node-warning";

quietSdkNodeVersionWarning();
