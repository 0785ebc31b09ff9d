/**
 * Per-plugin metrics, in the node server's registry (its `/metrics`): folds run on each plugin,
 * their errors by code, their duration, requests refused, workers lost, and plugins by state. The
 * `module` label is the plugin's name — a refusal for a name no plugin here has is counted under
 * "(unknown)", so a client cannot grow the label set at will.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { isAaeError } from '../errors.js';
import type { PluginObserver } from './host.js';

/** A plugin fold of 1M keys takes seconds; a fold over a few segments milliseconds. */
const DURATION_BUCKETS = [0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 120, 600];

export function pluginMetrics(registry: Registry): PluginObserver {
  const registers = [registry];
  const calls = new Counter({ name: 'aae_plugin_calls_total', help: 'Folds run on a plugin, by plugin and version', labelNames: ['module', 'version'], registers });
  const errors = new Counter({ name: 'aae_plugin_errors_total', help: 'Plugin folds that failed, by plugin, version and error code', labelNames: ['module', 'version', 'code'], registers });
  const duration = new Histogram({ name: 'aae_plugin_call_seconds', help: 'Plugin folds by duration, from the worker taking the request to its accumulator', labelNames: ['module'], buckets: DURATION_BUCKETS, registers });
  const refusals = new Counter({ name: 'aae_plugin_refusals_total', help: 'Requests for a plugin refused, by plugin and code (version unsatisfied, API mismatch, digest mismatch, mutation refused)', labelNames: ['module', 'code'], registers });
  const lost = new Counter({ name: 'aae_plugin_workers_replaced_total', help: 'Plugin workers terminated and replaced, by plugin and why (PLUGIN_TIMEOUT, PLUGIN_CRASHED)', labelNames: ['module', 'code'], registers });
  const states = new Gauge({ name: 'aae_plugins', help: 'Plugins on the node by state (serving, retiring, refused)', labelNames: ['state'], registers });
  return {
    call(module, version) {
      calls.inc({ module, version });
      const end = duration.startTimer({ module });
      return {
        done(error?: unknown) {
          end();
          if (error !== undefined) errors.inc({ module, version, code: isAaeError(error) ? error.code : 'INTERNAL' });
        },
      };
    },
    refused(module, code) {
      refusals.inc({ module, code });
    },
    workerLost(module, code) {
      lost.inc({ module, code });
    },
    states(counts) {
      for (const [state, n] of Object.entries(counts)) states.set({ state }, n);
    },
  };
}
