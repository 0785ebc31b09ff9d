/**
 * The plugin API version this build speaks (semver). A plugin's manifest names the range of plugin
 * APIs it was built for (`"aae": {"pluginApi": "^1.0.0"}`); a node loads it only when this version
 * satisfies that range, checked before any of the plugin's code runs (as Fastify checks the
 * `fastify` range its plugins declare).
 *
 * Plugin API 1.x is fold-module API 1 (src/fold/contract.ts) plus the SDK a plugin's factory is
 * handed (sdk.ts). A minor version adds to the SDK; a change that breaks a plugin is a new major.
 */
export const PLUGIN_API_VERSION = '1.0.0';
